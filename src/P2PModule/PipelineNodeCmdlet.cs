using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module;

/// <summary>Base of cmdlets that read from one node and also take it from the pipeline (<c>Get-P2PNode a | Find-P2PFile</c>).</summary>
public abstract class PipelineNodeCmdlet : P2PCmdlet
{
    /// <summary>The node to read from; from the pipeline, or the session's only running node.</summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("LocalNode")]
    [NodeTransformation]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public IManagedNode? Node { get; set; }

    /// <summary>See <see cref="P2PCmdlet.TryResolveNode"/>.</summary>
    protected bool TryGetTargetNode(out IManagedNode node) => TryResolveNode(Node, out node);
}
