using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>Stop-P2PNode: graceful stop, letting work under way finish within the drain timeout.</summary>
[Cmdlet(VerbsLifecycle.Stop, "P2PNode", SupportsShouldProcess = true, DefaultParameterSetName = NodeSet, HelpUri = HelpLinks.Cmdlets + "Stop-P2PNode.md")]
[OutputType(typeof(P2PNode), typeof(RemoteNode))]
public sealed class StopP2PNodeCommand : P2PCmdlet
{
    private const string NodeSet = "Node";
    private const string AllSet = "All";

    [Parameter(ParameterSetName = NodeSet, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    [NodeTransformation]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public IManagedNode[]? Node { get; set; }

    [Parameter(ParameterSetName = AllSet, Mandatory = true)]
    public SwitchParameter All { get; set; }

    /// <summary>Overrides the node's own drain timeout.</summary>
    [Parameter]
    [ValidateRange(0, 3600)]
    public double DrainTimeoutSec { get; set; } = -1;

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        IEnumerable<IManagedNode> targets;
        if (All)
        {
            targets = NodeRegistry.Running.Select(node => node.Managed);
        }
        else if (Node is { } given)
        {
            targets = given;
        }
        else
        {
            if (!TryResolveNode(null, out var only))
            {
                return;
            }

            targets = [only];
        }

        TimeSpan? drain = DrainTimeoutSec >= 0 ? TimeSpan.FromSeconds(DrainTimeoutSec) : null;
        ForEachItem(targets, node =>
        {
            if (node.Status == NodeStatus.Stopped || !ShouldProcess(node.ToString() ?? node.Name, "Stop P2P node"))
            {
                return;
            }

            using var trace = TraceNode(node);
            Await(node.StopAsync(drain));
            if (PassThru)
            {
                WriteObject(node.Shown);
            }
        });
    }
}
