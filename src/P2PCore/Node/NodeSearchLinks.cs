using P2PTransfer.Peers;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>Wires the node's peer links to its search router: the links it routes over, and the search frames they receive.</summary>
internal sealed class NodeSearchLinks(P2PNode node) : ISearchLinks, IPeerRequestHandler
{
    public IReadOnlyList<ISearchLink> Linked() => [.. node.LinkedPeers().Select(PeerSearchLink.Of)];

    public ISearchLink? Find(Guid nodeId) => node.FindPeer(nodeId) is { } link ? PeerSearchLink.Of(link) : null;

    public void OnQuery(PeerLink from, Query query) => node.Search.OnQuery(PeerSearchLink.Of(from), query);

    public void OnQueryHit(PeerLink from, QueryHit hit) => node.Search.OnQueryHit(PeerSearchLink.Of(from), hit);
}
