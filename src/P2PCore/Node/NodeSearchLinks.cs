using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>The node's peer links as search routing sees them.</summary>
internal sealed class NodeSearchLinks(P2PNode node) : ISearchLinks
{
    public IReadOnlyList<ISearchLink> Linked() => node.LinkedPeers();

    public ISearchLink? Find(Guid nodeId) => node.FindPeer(nodeId);
}
