namespace P2PTransfer.Protocol.Messages;

/// <summary>A refused request or a protocol violation. Codes 100 and up are followed by the sender closing the connection.</summary>
internal sealed record ErrorMessage(ProtocolError Error, string Message) : IMessage
{
    public MessageCode Code => MessageCode.Error;

    public int PayloadLength => 2 + PayloadWriter.StringLength(Message);

    public static ErrorMessage Create(ProtocolError error, string message) => new(error, Text.Truncate(message, ProtocolLimits.MaxMessageBytes));

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt16((ushort)Error);
        writer.WriteString(Message);
    }

    public static ErrorMessage Read(ref PayloadReader reader) =>
        new((ProtocolError)reader.ReadUInt16(), reader.ReadString(ProtocolLimits.MaxMessageBytes, "message"));
}
