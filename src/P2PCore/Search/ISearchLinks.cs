namespace P2PTransfer.Search;

/// <summary>The links a router cascades requests over and routes responses along.</summary>
internal interface ISearchLinks
{
    /// <summary>The live links (not closing), for cascading.</summary>
    IReadOnlyList<ISearchLink> Linked();

    /// <summary>The link to a server, closing or not; null when there is none.</summary>
    ISearchLink? Find(Guid nodeId);
}
