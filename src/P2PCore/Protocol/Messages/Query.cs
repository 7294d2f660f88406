namespace P2PTransfer.Protocol.Messages;

/// <summary>
/// Server → linked server: a search cascading through the network. <see cref="Backtrace"/> holds every server
/// it passed, the entry server first and the sender on top; <see cref="Entry"/> is the entry server's key and its
/// signature over the request id and its endpoint, which a server checks before it delivers a response directly.
/// </summary>
internal sealed record Query(Guid RequestId, byte Ttl, uint MaxResults, BacktraceStack Backtrace, KeyProof Entry, FileQuery Search) : IMessage
{
    private readonly int _length = 16 + 1 + 4 + Backtrace.WireLength + Entry.WireLength + QueryWire.Length(Search);

    public MessageCode Code => MessageCode.Query;

    public int PayloadLength => _length;

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteGuid(RequestId);
        writer.WriteByte(Ttl);
        writer.WriteUInt32(MaxResults);
        Backtrace.Write(ref writer);
        Entry.Write(ref writer);
        QueryWire.Write(ref writer, Search);
    }

    public static Query Read(ref PayloadReader reader) =>
        new(reader.ReadGuid(), reader.ReadByte(), reader.ReadUInt32(), BacktraceStack.Read(ref reader), KeyProof.Read(ref reader, "entry"), QueryWire.Read(ref reader));
}
