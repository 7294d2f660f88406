namespace P2PTransfer.Search;

/// <summary>
/// One file found by a search, and where it is: the same object for local and network searches, so that
/// <c>Find-P2PFile | Receive-P2PFile</c> works from either.
/// </summary>
public sealed class P2PSearchResult
{
    public required string Name { get; init; }

    public required long Size { get; init; }

    /// <summary>SHA-256 of the content in upper-case hex, as Get-FileHash prints it.</summary>
    public required string Hash { get; init; }

    /// <summary>Path on the source: its shared folder's name, then the path below it, '/'-separated.</summary>
    public required string RelativePath { get; init; }

    public required Guid NodeId { get; init; }

    public required string NodeName { get; init; }

    /// <summary>host:port of the source node's server, where the file can be downloaded from.</summary>
    public required string Endpoint { get; init; }

    /// <summary>Links between the server that was asked and the source; 0 when it answered from its own index.</summary>
    public required int Hops { get; init; }

    public override string ToString() => $"{RelativePath} @ {NodeName} ({Endpoint})";
}
