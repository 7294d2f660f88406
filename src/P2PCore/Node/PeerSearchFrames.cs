using P2PTransfer.Peers;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>Hands the search frames a peer link receives to the search router.</summary>
internal sealed class PeerSearchFrames(SearchRouter router) : IPeerRequestHandler
{
    public void OnQuery(PeerLink from, Query query) => router.OnQuery(PeerSearchLink.Of(from), query);

    public void OnQueryHit(PeerLink from, QueryHit hit) => router.OnQueryHit(PeerSearchLink.Of(from), hit);
}
