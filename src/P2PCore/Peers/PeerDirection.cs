namespace P2PTransfer.Peers;

/// <summary>Which side dialed a peer link.</summary>
public enum PeerDirection
{
    Inbound,
    Outbound,
}
