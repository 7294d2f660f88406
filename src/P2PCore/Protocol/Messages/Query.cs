namespace P2PTransfer.Protocol.Messages;

/// <summary>
/// Server → linked server: a search cascading through the network. <see cref="Backtrace"/> holds every server
/// it passed, the entry server first and the sender on top.
/// </summary>
internal sealed record Query(Guid RequestId, byte Ttl, uint MaxResults, BacktraceStack Backtrace, FileQuery Search) : IMessage
{
    private readonly int _length = 16 + 1 + 4 + Backtrace.WireLength + QueryWire.Length(Search);

    public MessageCode Code => MessageCode.Query;

    public int PayloadLength => _length;

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteGuid(RequestId);
        writer.WriteByte(Ttl);
        writer.WriteUInt32(MaxResults);
        Backtrace.Write(ref writer);
        QueryWire.Write(ref writer, Search);
    }

    public static Query Read(ref PayloadReader reader) =>
        new(reader.ReadGuid(), reader.ReadByte(), reader.ReadUInt32(), BacktraceStack.Read(ref reader), QueryWire.Read(ref reader));
}
