using P2PTransfer.Peers;

namespace P2PTransfer.Node;

/// <summary>A peer link came or went; <c>$Event.SourceEventArgs.Peer</c> in Register-ObjectEvent actions.</summary>
public sealed class PeerEventArgs(P2PPeer peer) : EventArgs
{
    public P2PPeer Peer { get; } = peer;
}

/// <summary>A node's status changed; <c>$Event.SourceEventArgs.Status</c> in Register-ObjectEvent actions.</summary>
public sealed class NodeStatusEventArgs(NodeStatus status) : EventArgs
{
    public NodeStatus Status { get; } = status;
}
