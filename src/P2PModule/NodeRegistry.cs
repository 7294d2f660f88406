using System.Management.Automation;
using P2PTransfer.Node;
using P2PTransfer.Protocol;

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
    public static IManagedNode Resolve(IManagedNode? given)
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
            1 => running[0].Managed,
            0 => throw new P2PCmdletException("NoNodeRunning", ErrorCategory.ObjectNotFound, "no P2P node is running in this session; start one with Start-P2PNode"),
            _ => throw new P2PCmdletException("NodeNotSpecified", ErrorCategory.InvalidArgument, $"{running.Count} nodes are running in this session ({string.Join(", ", running.Select(n => n.Name))}); choose one with -Node"),
        };
    }

    /// <summary>
    /// The node with this name: one of this session, else one of this user in another session or service (through
    /// its control channel). Null when none runs.
    /// </summary>
    public static IManagedNode? Find(string name)
    {
        if (Running.FirstOrDefault(node => string.Equals(node.Name, name, StringComparison.OrdinalIgnoreCase)) is { } local)
        {
            return local.Managed;
        }

        try
        {
            return RemoteNode.ConnectAsync(name).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is P2PException or ArgumentException or UnauthorizedAccessException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>The running nodes of this user in other sessions and services (not those of this session).</summary>
    public static IReadOnlyList<RemoteNode> Others()
    {
        var here = Running.Select(node => node.Id).ToHashSet();
        return [.. RemoteNode.GetRunningAsync().GetAwaiter().GetResult().Where(node => !here.Contains(node.Id))];
    }

    /// <summary>Stops every node; used when the module is removed.</summary>
    public static void StopAll()
    {
        var nodes = Running;
        Task.WhenAll(nodes.Select(n => n.StopAsync())).GetAwaiter().GetResult();
    }
}
