namespace P2PTransfer.Protocol.Messages;

/// <summary>The last frame before an orderly close, with the reason.</summary>
internal sealed record Bye(ProtocolError Reason, string Message) : IMessage
{
    public MessageCode Code => MessageCode.Bye;

    public int PayloadLength => 2 + PayloadWriter.StringLength(Message);

    public static Bye Create(ProtocolError reason, string message) => new(reason, Text.Truncate(message, ProtocolLimits.MaxMessageBytes));

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt16((ushort)Reason);
        writer.WriteString(Message);
    }

    public static Bye Read(ref PayloadReader reader) =>
        new((ProtocolError)reader.ReadUInt16(), reader.ReadString(ProtocolLimits.MaxMessageBytes, "message"));
}
