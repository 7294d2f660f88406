namespace P2PTransfer.Node;

/// <summary>Lifecycle of a node: Starting, Running, Closing (finishing work under way, refusing new work), Stopped.</summary>
public enum NodeStatus
{
    Starting,
    Running,
    Closing,
    Stopped,
}
