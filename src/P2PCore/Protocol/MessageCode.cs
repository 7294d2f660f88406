namespace P2PTransfer.Protocol;

/// <summary>The request code: the first byte of every frame. Values are part of the wire protocol (docs/protocol.md).</summary>
/// <remarks>0x20-0x3F are reserved for search, 0x40-0x5F for transfer; v1 nodes treat them as unknown.</remarks>
public enum MessageCode : byte
{
    Hello = 0x01,
    Welcome = 0x02,
    Ping = 0x03,
    Pong = 0x04,
    Status = 0x05,
    Bye = 0x06,
    Error = 0x07,
}
