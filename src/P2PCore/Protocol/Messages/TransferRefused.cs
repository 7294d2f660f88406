namespace P2PTransfer.Protocol.Messages;

/// <summary>Server → downloader: a transfer request refused (unknown file, piece out of range, busy, closing...).</summary>
internal sealed record TransferRefused(uint RequestId, ProtocolError Reason, string Message) : IMessage
{
    public MessageCode Code => MessageCode.TransferRefused;

    public int PayloadLength => 4 + 2 + PayloadWriter.StringLength(Message);

    public static TransferRefused Create(uint requestId, ProtocolError reason, string message) =>
        new(requestId, reason, Text.Truncate(message, ProtocolLimits.MaxMessageBytes));

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(RequestId);
        writer.WriteUInt16((ushort)Reason);
        writer.WriteString(Message);
    }

    public static TransferRefused Read(ref PayloadReader reader) =>
        new(reader.ReadUInt32(), (ProtocolError)reader.ReadUInt16(), reader.ReadString(ProtocolLimits.MaxMessageBytes, "message"));
}
