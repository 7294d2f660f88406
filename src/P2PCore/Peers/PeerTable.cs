using System.Collections.Concurrent;

namespace P2PTransfer.Peers;

/// <summary>The node's peer links by remote node id: at most one link per remote node.</summary>
internal sealed class PeerTable
{
    private readonly ConcurrentDictionary<Guid, PeerLink> _links = new();

    public int Count => _links.Count;

    /// <summary>Makes this the link to its remote node and returns the one it replaced, if any (the caller decides which stays).</summary>
    public PeerLink? Set(PeerLink link)
    {
        PeerLink? previous = null;
        _links.AddOrUpdate(link.RemoteId, link, (_, old) =>
        {
            previous = old;
            return link;
        });
        return previous;
    }

    public bool TryGet(Guid nodeId, out PeerLink link) => _links.TryGetValue(nodeId, out link!);

    /// <summary>Removes exactly this link (not a newer one to the same node).</summary>
    public bool Remove(PeerLink link) => _links.TryRemove(new KeyValuePair<Guid, PeerLink>(link.RemoteId, link));

    public IReadOnlyList<PeerLink> Snapshot() => [.. _links.Values];
}
