using System.Collections.Concurrent;

namespace P2PTransfer.Peers;

/// <summary>The node's peer links by remote node id: at most one link per remote node.</summary>
public sealed class PeerTable
{
    private readonly ConcurrentDictionary<Guid, PeerLink> _links = new();

    public int Count => _links.Count;

    /// <summary>Adds the link unless this node already has one to the same remote node.</summary>
    public bool TryAdd(PeerLink link) => _links.TryAdd(link.RemoteId, link);

    public bool TryGet(Guid nodeId, out PeerLink link) => _links.TryGetValue(nodeId, out link!);

    /// <summary>Removes exactly this link (not a newer one to the same node).</summary>
    public bool Remove(PeerLink link) => _links.TryRemove(new KeyValuePair<Guid, PeerLink>(link.RemoteId, link));

    public IReadOnlyList<PeerLink> Snapshot() => [.. _links.Values];
}
