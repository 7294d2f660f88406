namespace P2PTransfer.Protocol;

/// <summary>Every limit of the wire protocol, in one place (docs/protocol.md, "Limits").</summary>
public static class ProtocolLimits
{
    /// <summary>Protocol version spoken by this build.</summary>
    public const ushort Version = 1;

    /// <summary>"P2PT": the first four payload bytes of Hello.</summary>
    public const uint Magic = 0x50325054;

    /// <summary>code (1) + flags (1) + payload length (4).</summary>
    public const int FrameHeaderLength = 6;

    /// <summary>Largest payload accepted once the handshake is done.</summary>
    public const int MaxPayload = 1024 * 1024;

    /// <summary>Largest payload accepted before the handshake is done.</summary>
    public const int MaxHandshakePayload = 1024;

    public const int MaxNameBytes = 64;
    public const int MaxEndpointBytes = 262;
    public const int MaxMessageBytes = 1024;

    /// <summary>Frames that may wait in one connection's send queue.</summary>
    public const int SendQueueCapacity = 256;
}
