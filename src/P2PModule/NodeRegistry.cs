using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module;

/// <summary>The nodes started in this PowerShell process (shared by its runspaces and thread jobs).</summary>
public static class NodeRegistry
{
    private static readonly List<P2PNode> Nodes = [];

    public static IReadOnlyList<P2PNode> Running
    {
        get
        {
            lock (Nodes)
            {
                return [.. Nodes];
            }
        }
    }

    public static void Add(P2PNode node)
    {
        lock (Nodes)
        {
            Nodes.Add(node);
        }

        node.StatusChanged += (_, change) =>
        {
            if (change.Status == NodeStatus.Stopped)
            {
                lock (Nodes)
                {
                    Nodes.Remove(node);
                }
            }
        };
    }

    /// <summary>The node a cmdlet acts on: the one given, else the session's only running node.</summary>
    public static P2PNode Resolve(P2PNode? given)
    {
        if (given is not null)
        {
            if (given.Status is NodeStatus.Stopped)
            {
                throw new P2PCmdletException("NodeStopped", ErrorCategory.ResourceUnavailable, $"node {given.Name} is stopped");
            }

            return given;
        }

        var running = Running;
        return running.Count switch
        {
            1 => running[0],
            0 => throw new P2PCmdletException("NoNodeRunning", ErrorCategory.ObjectNotFound, "no P2P node is running in this session; start one with Start-P2PNode"),
            _ => throw new P2PCmdletException("NodeNotSpecified", ErrorCategory.InvalidArgument, $"{running.Count} nodes are running in this session ({string.Join(", ", running.Select(n => n.Name))}); choose one with -Node"),
        };
    }

    /// <summary>Stops every node; used when the module is removed.</summary>
    public static void StopAll()
    {
        var nodes = Running;
        Task.WhenAll(nodes.Select(n => n.StopAsync())).GetAwaiter().GetResult();
    }
}
