using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>Files one source holds, as one response brought them to the entry server.</summary>
internal sealed record ResultBatch(SourceNode Source, int Hops, bool Direct, BacktraceStack? Route, IReadOnlyList<FoundFile> Files)
{
    public IEnumerable<P2PSearchResult> Results() => Files.Select(f => new P2PSearchResult
    {
        Name = f.Name,
        Size = f.Size,
        Hash = f.Hash,
        RelativePath = f.RelativePath,
        NodeId = Source.NodeId,
        NodeName = Source.Name,
        Endpoint = Source.Endpoint,
        Hops = Hops,
    });

    /// <summary>What the batch holds on to while it waits for a reader: its files, route and source (with its key and signature).</summary>
    internal long MemorySize => Files.Sum(f => f.MemorySize) + (2L * (Source.Name.Length + Source.Endpoint.Length)) + Source.Proof.PublicKey.Length + Source.Proof.Signature.Length + (Route?.Hops.Sum(h => 48L + (2L * h.Endpoint.Length)) ?? 0) + 128;

    /// <summary>One line for -Verbose: who answered, how far away, and the way the response came.</summary>
    public string Describe()
    {
        var route = Hops == 0 || Route is null ? $"{Source.Endpoint} (the entry server's own)" : $"{Route} > {Source.Endpoint}";
        return $"{Files.Count} file(s) from {Source.Name} ({Source.Endpoint}), {Hops} hop(s), route {route}{(Direct ? ", delivered directly (a hop of its route was gone)" : string.Empty)}";
    }
}
