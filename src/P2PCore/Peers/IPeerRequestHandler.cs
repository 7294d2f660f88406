using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Peers;

/// <summary>Takes what a peer link receives for the rest of the node: the search frames and peer exchange. Never throws for anything the remote sent.</summary>
internal interface IPeerRequestHandler
{
    /// <summary>A request cascading through the network.</summary>
    void OnQuery(PeerLink from, Query query);

    /// <summary>A response travelling back to its entry server.</summary>
    void OnQueryHit(PeerLink from, QueryHit hit);

    /// <summary>Nodes the peer was linked to.</summary>
    void OnPeerExchange(PeerLink from, PeerExchange message);
}
