using P2PTransfer.Peers;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>Hands what a peer link receives to the part of the node it is for: search frames to the search router, peer exchange to the address exchange.</summary>
internal sealed class PeerRequests(SearchRouter router, AddressExchange exchange) : IPeerRequestHandler
{
    public void OnQuery(PeerLink from, Query query) => router.OnQuery(PeerSearchLink.Of(from), query);

    public void OnQueryHit(PeerLink from, QueryHit hit) => router.OnQueryHit(PeerSearchLink.Of(from), hit);

    public void OnPeerExchange(PeerLink from, PeerExchange message) => exchange.Receive(from.RemoteId, message);
}
