namespace P2PTransfer.Protocol.Messages;

/// <summary>Entry server → client: files one source holds, as they arrive, with the route their response took.</summary>
/// <param name="Route">The servers the request passed before reaching the source, the entry server first.</param>
/// <param name="Direct">True when the response came straight from the source because a hop of its route was gone.</param>
internal sealed record SearchResults(uint SearchId, SourceNode Source, byte Hops, bool Direct, BacktraceStack Route, IReadOnlyList<FoundFile> Files) : IMessage
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
