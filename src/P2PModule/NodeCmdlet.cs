using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module;

/// <summary>Base of cmdlets that act on one node of the session: -Node, or the only node running.</summary>
public abstract class NodeCmdlet : P2PCmdlet
{
    /// <summary>The node to act on; defaults to the session's only running node.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("LocalNode")]
    [NodeTransformation]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public P2PNode? Node { get; set; }

    /// <summary>See <see cref="P2PCmdlet.TryResolveNode"/>.</summary>
    protected bool TryGetTargetNode(out P2PNode node) => TryResolveNode(Node, out node);
}
