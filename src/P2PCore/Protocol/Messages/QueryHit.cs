namespace P2PTransfer.Protocol.Messages;

/// <summary>
/// A response travelling back along a request's backtrace stack: <see cref="Remaining"/> of its servers are still
/// to be passed, and the receiver is <c>Backtrace[Remaining - 1]</c>; it pops itself by sending the response on
/// with Remaining - 1. Remaining 1 is the entry server, also how a response delivered directly arrives.
/// </summary>
/// <param name="Batch">Numbers the responses of one source to one request, so the same response is recognised wherever it arrives.</param>
internal sealed record QueryHit(Guid RequestId, ushort Batch, byte Remaining, BacktraceStack Backtrace, SourceNode Source, IReadOnlyList<FoundFile> Files) : IMessage
{
    private readonly int _length = 16 + 2 + 1 + Backtrace.WireLength + Source.WireLength + 2 + Files.Sum(f => f.WireLength);

    public MessageCode Code => MessageCode.QueryHit;

    public int PayloadLength => _length;

    /// <summary>Links between the entry server and the source.</summary>
    public int Hops => Backtrace.Count;

    /// <summary>The server this response is addressed to now.</summary>
    public RouteHop Receiver => Backtrace[Remaining - 1];

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteGuid(RequestId);
        writer.WriteUInt16(Batch);
        writer.WriteByte(Remaining);
        Backtrace.Write(ref writer);
        Source.Write(ref writer);
        HitList.Write(ref writer, Files);
    }

    public static QueryHit Read(ref PayloadReader reader)
    {
        var id = reader.ReadGuid();
        ushort batch = reader.ReadUInt16();
        byte remaining = reader.ReadByte();
        var backtrace = BacktraceStack.Read(ref reader);
        if (remaining == 0 || remaining > backtrace.Count)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"QueryHit remaining {remaining} is outside its backtrace stack of {backtrace.Count}");
        }

        return new QueryHit(id, batch, remaining, backtrace, SourceNode.Read(ref reader), HitList.Read(ref reader));
    }
}
