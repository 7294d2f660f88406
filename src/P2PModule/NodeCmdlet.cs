using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module;

/// <summary>Base of cmdlets that act on one node of the session: -Node, or the only node running.</summary>
public abstract class NodeCmdlet : P2PCmdlet
{
    /// <summary>The node to act on (a node of this session or, by name or as Get-P2PNode -All returns it, of another session of this user); defaults to the session's only running node.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("LocalNode")]
    [NodeTransformation]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public IManagedNode? Node { get; set; }

    /// <summary>See <see cref="P2PCmdlet.TryResolveNode"/>.</summary>
    protected bool TryGetTargetNode(out IManagedNode node) => TryResolveNode(Node, out node);
}
