using System.Management.Automation;
using P2PTransfer.Node;
using P2PTransfer.Peers;

namespace P2PTransfer.Module.Commands;

/// <summary>Get-P2PPeer: a node's live peer links.</summary>
[Cmdlet(VerbsCommon.Get, "P2PPeer", HelpUri = HelpLinks.Cmdlets + "Get-P2PPeer.md")]
[OutputType(typeof(P2PPeer))]
public sealed class GetP2PPeerCommand : P2PCmdlet
{
    /// <summary>The node whose links to list (of this session or another session of this user); defaults to the session's only running node.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    [NodeTransformation]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public IManagedNode? Node { get; set; }

    protected override void ProcessRecord()
    {
        if (TryResolveNode(Node, out var node))
        {
            WriteObject(Await(node.GetPeersAsync(StopToken)), enumerateCollection: true);
        }
    }
}
