using System.Management.Automation;
using P2PTransfer.Peers;

namespace P2PTransfer.Module.Commands;

/// <summary>Connect-P2PPeer: opens lasting links from a node to other nodes' servers.</summary>
[Cmdlet(VerbsCommunications.Connect, "P2PPeer", SupportsShouldProcess = true, HelpUri = HelpLinks.Cmdlets + "Connect-P2PPeer.md")]
[OutputType(typeof(P2PPeer))]
public sealed class ConnectP2PPeerCommand : NodeCmdlet
{
    /// <summary>'host:port' of the nodes to link to; the default port when no port is given.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Endpoint")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(EndpointCompleter))]
    public string[] Address { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (!TryGetTargetNode(out var node))
        {
            return;
        }

        using var trace = TraceNode(node);
        ForEachItem(Address, address =>
        {
            if (ShouldProcess($"{node.Name} -> {address}", "Link P2P peer"))
            {
                WriteObject(Await(node.ConnectPeerAsync(address, StopToken)));
            }
        });
    }
}
