namespace P2PTransfer.Search;

/// <summary>One search a client entered at this node, under the id the client chose for it.</summary>
internal sealed class ClientSearch(uint searchId, NetworkSearch search, Task streamed)
{
    private volatile bool _holdsId = true;

    public uint SearchId { get; } = searchId;

    public NetworkSearch Search { get; } = search;

    /// <summary>Completes once its results and SearchDone are queued, or the client is gone.</summary>
    public Task Streamed { get; } = streamed;

    /// <summary>True until its SearchDone is about to be queued: the client may use its id again from then on.</summary>
    public bool HoldsId => _holdsId;

    public void ReleaseId() => _holdsId = false;
}
