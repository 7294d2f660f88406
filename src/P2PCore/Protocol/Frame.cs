using System.Buffers;

namespace P2PTransfer.Protocol;

/// <summary>One frame as read off the wire. The payload is a slice of the reader's buffer: valid only until the reader advances.</summary>
internal readonly struct Frame(MessageCode code, ReadOnlySequence<byte> payload)
{
    public MessageCode Code { get; } = code;
    public ReadOnlySequence<byte> Payload { get; } = payload;
}
