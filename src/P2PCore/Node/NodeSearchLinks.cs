using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>The node's live peer links, as the search router routes over them.</summary>
internal sealed class NodeSearchLinks(LinkRegistry links) : ISearchLinks
{
    public IReadOnlyList<ISearchLink> Linked() => [.. links.LiveLinks().Select(PeerSearchLink.Of)];

    public ISearchLink? Find(Guid nodeId) => links.Find(nodeId) is { } link ? PeerSearchLink.Of(link) : null;
}
