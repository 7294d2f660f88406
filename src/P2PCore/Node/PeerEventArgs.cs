using P2PTransfer.Peers;

namespace P2PTransfer.Node;

/// <summary>A peer link came or went; <c>$Event.SourceEventArgs.Peer</c> in Register-ObjectEvent actions.</summary>
public sealed class PeerEventArgs(P2PPeer peer) : EventArgs
{
    public P2PPeer Peer { get; } = peer;
}
