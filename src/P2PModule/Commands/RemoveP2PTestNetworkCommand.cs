using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>Remove-P2PTestNetwork: stops a test network's nodes and deletes their state.</summary>
[Cmdlet(VerbsCommon.Remove, "P2PTestNetwork", SupportsShouldProcess = true, HelpUri = HelpLinks.Cmdlets + "Remove-P2PTestNetwork.md")]
[OutputType(typeof(void))]
public sealed class RemoveP2PTestNetworkCommand : P2PCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public P2PTestNetwork[] Network { get; set; } = [];

    protected override void ProcessRecord()
    {
        ForEachItem(Network, network =>
        {
            if (ShouldProcess($"{network} (state in {network.Root})", "Remove P2P test network"))
            {
                Await(network.RemoveAsync());
            }
        });
    }
}
