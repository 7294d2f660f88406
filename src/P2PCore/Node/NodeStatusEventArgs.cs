namespace P2PTransfer.Node;

/// <summary>A node's status changed; <c>$Event.SourceEventArgs.Status</c> in Register-ObjectEvent actions.</summary>
public sealed class NodeStatusEventArgs(NodeStatus status) : EventArgs
{
    public NodeStatus Status { get; } = status;
}
