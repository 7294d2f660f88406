namespace P2PTransfer.Protocol.Messages;

/// <summary>Client → entry server: start a network search. The client picks <see cref="SearchId"/> to tell its searches apart.</summary>
internal sealed record SearchRequest(uint SearchId, byte Ttl, uint TimeoutMilliseconds, uint MaxResults, FileQuery Query) : IMessage
{
    public MessageCode Code => MessageCode.Search;

    public int PayloadLength => 4 + 1 + 4 + 4 + QueryWire.Length(Query);

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(SearchId);
        writer.WriteByte(Ttl);
        writer.WriteUInt32(TimeoutMilliseconds);
        writer.WriteUInt32(MaxResults);
        QueryWire.Write(ref writer, Query);
    }

    public static SearchRequest Read(ref PayloadReader reader) =>
        new(reader.ReadUInt32(), reader.ReadByte(), reader.ReadUInt32(), reader.ReadUInt32(), QueryWire.Read(ref reader));
}
