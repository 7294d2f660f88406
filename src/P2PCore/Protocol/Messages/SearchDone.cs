namespace P2PTransfer.Protocol.Messages;

/// <summary>Entry server → client: the search is over (timeout, enough results, cancelled) or was refused (Status ≠ None).</summary>
internal sealed record SearchDone(uint SearchId, ProtocolError Status, uint Results, uint Sources, string Message) : IMessage
{
    public MessageCode Code => MessageCode.SearchDone;

    public int PayloadLength => 4 + 2 + 4 + 4 + PayloadWriter.StringLength(Message);

    public static SearchDone Create(uint searchId, ProtocolError status, uint results, uint sources, string message) =>
        new(searchId, status, results, sources, Text.Truncate(message, ProtocolLimits.MaxMessageBytes));

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(SearchId);
        writer.WriteUInt16((ushort)Status);
        writer.WriteUInt32(Results);
        writer.WriteUInt32(Sources);
        writer.WriteString(Message);
    }

    public static SearchDone Read(ref PayloadReader reader) =>
        new(reader.ReadUInt32(), (ProtocolError)reader.ReadUInt16(), reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadString(ProtocolLimits.MaxMessageBytes, "message"));
}
