using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>Takes the search frames a link receives. Never throws for anything the remote sent.</summary>
public interface ILinkSearchHandler
{
    /// <summary>A request cascading through the network.</summary>
    void OnQuery(ISearchLink from, Query query);

    /// <summary>A response travelling back to its entry server.</summary>
    void OnQueryHit(ISearchLink from, QueryHit hit);
}
