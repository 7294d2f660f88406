using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>Install-P2PService: registers a node with the service manager, run by the module's host from its state directory.</summary>
[Cmdlet(VerbsLifecycle.Install, "P2PService", SupportsShouldProcess = true, HelpUri = HelpLinks.Cmdlets + "Install-P2PService.md")]
[OutputType(typeof(NodeServiceInfo))]
public sealed class InstallP2PServiceCommand : P2PCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    /// <summary>CurrentUser: started at the user's login (systemd user unit, launchd agent); AllUsers: at boot.</summary>
    [Parameter]
    public ServiceScope Scope { get; set; } = ServiceScope.CurrentUser;

    [Parameter]
    [ValidateNotNull]
    public string[] Share { get; set; } = [];

    [Parameter]
    [ValidateNotNull]
    public string[] Exclude { get; set; } = [];

    [Parameter]
    [ValidateRange(0, 65535)]
    public int Port { get; set; } = NodeOptions.DefaultPort;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ListenAddress { get; set; } = "0.0.0.0";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AdvertisedHost { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Peer { get; set; } = [];

    [Parameter]
    [ValidateRange(0, 64)]
    public int TargetPeers { get; set; } = 8;

    [Parameter]
    [ValidateRange(1, 4096)]
    public int MaxUploads { get; set; } = P2PTransfer.Transfer.TransferLimits.DefaultMaxUploads;

    [Parameter]
    [ValidateRange(0, 3600)]
    public double DrainTimeoutSec { get; set; } = 10;

    [Parameter]
    public SwitchParameter NoDiscovery { get; set; }

    /// <summary>The file of the private network's key (New-P2PNetworkKey -Path): the service's node joins that network. A file, so the service can read it at every start.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NetworkKey { get; set; }

    /// <summary>The only node ids the service's node links to, answers and serves (as Get-P2PNode shows them, or GUIDs).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? TrustedNode { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        NodeServiceInfo service;
        List<string>? shares = null;
        string? networkKeyFile = null;
        List<Guid>? trusted = null;
        try
        {
            if (NetworkKey is not null)
            {
                networkKeyFile = ResolvePath(NetworkKey, nameof(NetworkKey));
                _ = P2PTransfer.Identity.NetworkKey.ReadFile(networkKeyFile);
            }

            trusted = TrustedNode is null ? null : [.. TrustedNode.Select(text => P2PTransfer.Identity.NodeIdText.TryParse(text, out var id) ? id : throw new ArgumentException($"-TrustedNode '{text}' is not a node id: give it as Get-P2PNode shows it (IdText) or as a GUID"))];
            var stateDirectory = StateDirectory is null ? null : ResolvePath(StateDirectory, nameof(StateDirectory));
            // Without -Share the service shares what the state directory shares already.
            shares = MyInvocation.BoundParameters.ContainsKey(nameof(Share)) ? [.. Share.Select(share => ResolvePath(share, nameof(Share)))] : null;
            service = NodeService.Describe(Name, stateDirectory, Scope, ServiceCmdlet.HostDirectory, TimeSpan.FromSeconds(DrainTimeoutSec));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, Name));
            return;
        }

        var settings = new NodeSettings
        {
            Shares = shares,
            Exclude = [.. Exclude],
            Port = Port,
            ListenAddress = ListenAddress,
            AdvertisedHost = AdvertisedHost,
            Peers = [.. Peer],
            TargetPeers = TargetPeers,
            MaxUploads = MaxUploads,
            DrainTimeoutSec = DrainTimeoutSec,
            Discovery = !NoDiscovery,
            NetworkKeyFile = networkKeyFile,
            Private = networkKeyFile is not null,
            TrustedNodes = trusted,
        };

        if (!ShouldProcess($"{service.ServiceName} ({service.UnitPath}), node {Name} from {service.StateDirectory}", "Install P2P service"))
        {
            return;
        }

        try
        {
            NodeService.Install(service, settings);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowTerminatingError(ServiceCmdlet.ToErrorRecord(ex, service));
        }

        WriteVerbose($"{service.ServiceName}: {service.Command}");
        if (PassThru)
        {
            WriteObject(service);
        }
    }
}
