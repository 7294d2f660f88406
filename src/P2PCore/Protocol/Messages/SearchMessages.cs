using P2PTransfer.Protocol;

namespace P2PTransfer.Protocol.Messages;

/// <summary>Client → entry server: start a network search. The client picks <see cref="SearchId"/> to tell its searches apart.</summary>
public sealed record SearchRequest(uint SearchId, byte Ttl, uint TimeoutMilliseconds, uint MaxResults, FileQuery Query) : IMessage
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

/// <summary>Client → entry server: stop a search early (Ctrl+C, enough results). The server ends it with SearchDone.</summary>
public sealed record SearchCancel(uint SearchId) : IMessage
{
    public MessageCode Code => MessageCode.SearchCancel;

    public int PayloadLength => 4;

    public void WritePayload(ref PayloadWriter writer) => writer.WriteUInt32(SearchId);

    public static SearchCancel Read(ref PayloadReader reader) => new(reader.ReadUInt32());
}

/// <summary>Entry server → client: files one source holds, as they arrive, with the route their response took.</summary>
/// <param name="Route">The servers the request passed before reaching the source, the entry server first.</param>
/// <param name="Direct">True when the response came straight from the source because a hop of its route was gone.</param>
public sealed record SearchResults(uint SearchId, SourceNode Source, byte Hops, bool Direct, BacktraceStack Route, IReadOnlyList<FoundFile> Files) : IMessage
{
    private readonly int _length = 4 + Source.WireLength + 1 + 1 + Route.WireLength + 2 + Files.Sum(f => f.WireLength);

    public MessageCode Code => MessageCode.SearchResults;

    public int PayloadLength => _length;

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(SearchId);
        Source.Write(ref writer);
        writer.WriteByte(Hops);
        writer.WriteByte(Direct ? (byte)1 : (byte)0);
        Route.Write(ref writer);
        HitList.Write(ref writer, Files);
    }

    public static SearchResults Read(ref PayloadReader reader)
    {
        uint id = reader.ReadUInt32();
        var source = SourceNode.Read(ref reader);
        byte hops = reader.ReadByte();
        byte flags = reader.ReadByte();
        if (flags > 1)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"SearchResults flags 0x{flags:X2} have unknown bits");
        }

        return new SearchResults(id, source, hops, flags == 1, BacktraceStack.Read(ref reader), HitList.Read(ref reader));
    }
}

/// <summary>Entry server → client: the search is over (timeout, enough results, cancelled) or was refused (Status ≠ None).</summary>
public sealed record SearchDone(uint SearchId, ProtocolError Status, uint Results, uint Sources, string Message) : IMessage
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

/// <summary>
/// Server → linked server: a search cascading through the network. <see cref="Backtrace"/> holds every server
/// it passed, the entry server first and the sender on top.
/// </summary>
public sealed record Query(Guid RequestId, byte Ttl, uint MaxResults, BacktraceStack Backtrace, FileQuery Search) : IMessage
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

/// <summary>
/// A response travelling back along a request's backtrace stack: <see cref="Remaining"/> of its servers are still
/// to be passed, and the receiver is <c>Backtrace[Remaining - 1]</c>; it pops itself by sending the response on
/// with Remaining - 1. Remaining 1 is the entry server, also how a response delivered directly arrives.
/// </summary>
/// <param name="Batch">Numbers the responses of one source to one request, so the same response is recognised wherever it arrives.</param>
public sealed record QueryHit(Guid RequestId, ushort Batch, byte Remaining, BacktraceStack Backtrace, SourceNode Source, IReadOnlyList<FoundFile> Files) : IMessage
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

/// <summary>The list of files in SearchResults and QueryHit frames: u16 count, then the files.</summary>
internal static class HitList
{
    /// <summary>Largest list a receiver buffers: a frame's worth of hits plus one hit that started below the mark.</summary>
    public const int MaxLength = 2 + ProtocolLimits.HitBytesPerFrame + 2 + FoundFile.MaxNameBytes + 8 + 32 + 2 + FoundFile.MaxRelativePathBytes;

    public static void Write(ref PayloadWriter writer, IReadOnlyList<FoundFile> files)
    {
        writer.WriteUInt16((ushort)files.Count);
        foreach (var file in files)
        {
            file.Write(ref writer);
        }
    }

    public static IReadOnlyList<FoundFile> Read(ref PayloadReader reader)
    {
        int count = reader.ReadUInt16();
        var files = new List<FoundFile>(Math.Min(count, 256));
        for (int i = 0; i < count; i++)
        {
            files.Add(FoundFile.Read(ref reader));
        }

        return files;
    }
}
