using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>New-P2PTestNetwork: nodes on loopback addresses, linked in a topology, ready for a scripted test.</summary>
[Cmdlet(VerbsCommon.New, "P2PTestNetwork", SupportsShouldProcess = true, HelpUri = HelpLinks.Cmdlets + "New-P2PTestNetwork.md")]
[OutputType(typeof(P2PTestNetwork))]
public sealed class NewP2PTestNetworkCommand : P2PCmdlet
{
    [Parameter(Position = 0)]
    [ValidateRange(1, P2PTestNetwork.MaxNodes)]
    public int Count { get; set; } = 3;

    [Parameter(Position = 1)]
    public TestTopology Topology { get; set; } = TestTopology.Line;

    [Parameter]
    [ValidateNotNull]
    [AllowEmptyString]
    public string[]? Share { get; set; }

    [Parameter]
    public int? Seed { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string NamePrefix { get; set; } = "n";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string FirstAddress { get; set; } = "127.0.0.1";

    [Parameter]
    [ValidateRange(1, 600)]
    public double TimeoutSec { get; set; } = 30;

    protected override void ProcessRecord()
    {
        var options = new TestNetworkOptions
        {
            Count = Count,
            Topology = Topology,
            Seed = Seed,
            NamePrefix = NamePrefix,
            FirstAddress = FirstAddress,
            Timeout = TimeSpan.FromSeconds(TimeoutSec),
        };
        var target = $"{Count} node(s) from {FirstAddress} in a {Topology}";
        try
        {
            options.Shares = Share?.Select(share => share.Length == 0 ? share : ResolvePath(share, nameof(Share))).ToList();
        }
        catch (ArgumentException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, Share));
        }

        if (!ShouldProcess(target, "Start P2P test network"))
        {
            return;
        }

        P2PTestNetwork network;
        try
        {
            // On failure or Ctrl+C the engine stops and removes whatever it started.
            network = Await(P2PTestNetwork.StartAsync(options, StopToken));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, target));
            return;
        }

        foreach (var node in network.Nodes)
        {
            NodeRegistry.Add(node);
        }

        WriteObject(network);
    }
}
