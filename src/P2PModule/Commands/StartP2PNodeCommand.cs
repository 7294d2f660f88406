using System.Management.Automation;
using P2PTransfer.Identity;
using P2PTransfer.Index;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>Start-P2PNode: starts a node that shares folders and routes the network's requests.</summary>
[Cmdlet(VerbsLifecycle.Start, "P2PNode", SupportsShouldProcess = true, HelpUri = HelpLinks.Cmdlets + "Start-P2PNode.md")]
[OutputType(typeof(P2PNode))]
public sealed class StartP2PNodeCommand : P2PCmdlet
{
    [Parameter(Position = 0)]
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
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    [Parameter]
    [ValidateRange(0, 3600)]
    public double DrainTimeoutSec { get; set; } = 10;

    /// <summary>Downloaders served at once; more are told 'busy'.</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public int MaxUploads { get; set; } = P2PTransfer.Transfer.TransferLimits.DefaultMaxUploads;

    /// <summary>
    /// A private network's key: the path of a key file, or the key as a SecureString (New-P2PNetworkKey makes
    /// both). The node links to, answers and serves only nodes and clients that prove they hold it.
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public object? NetworkKey { get; set; }

    /// <summary>The only nodes (ids in the display form or as GUIDs) the node links to, answers and serves.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? TrustedNode { get; set; }

    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>Links the node keeps by itself, dialing nodes it was linked to or heard of; 0: only the -Peer ones.</summary>
    [Parameter]
    [ValidateRange(0, 64)]
    public int TargetPeers { get; set; } = 8;

    /// <summary>Neither announce the node on the local networks nor link to the nodes announced there.</summary>
    [Parameter]
    public SwitchParameter NoDiscovery { get; set; }

    protected override void ProcessRecord()
    {
        string? stateDirectory = null;
        List<string>? shares = null;
        string? resolving = null;
        string Resolve(string path, string parameter)
        {
            resolving = path;
            return ResolvePath(path, parameter);
        }

        byte[]? networkKey = null;
        string? networkKeyFile = null;
        List<Guid>? trusted = null;
        try
        {
            stateDirectory = StateDirectory is null ? null : Resolve(StateDirectory, nameof(StateDirectory));
            // Without -Share the node shares what its state directory shared last time.
            shares = MyInvocation.BoundParameters.ContainsKey(nameof(Share)) ? [.. Share.Select(share => Resolve(share, nameof(Share)))] : null;
            networkKey = NetworkKey is null ? null : ReadNetworkKey(NetworkKey, path => networkKeyFile = Resolve(path, nameof(NetworkKey)));
            networkKeyFile ??= (NetworkKey is PSObject { BaseObject: FileInfo keyFile } ? keyFile : NetworkKey as FileInfo)?.FullName;
            trusted = TrustedNode is null ? null : [.. TrustedNode.Select(ParseNodeId)];
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, resolving));
        }

        var options = new NodeOptions
        {
            Name = Name,
            Port = Port,
            ListenAddress = ListenAddress,
            AdvertisedHost = AdvertisedHost,
            StateDirectory = stateDirectory,
            DrainTimeout = TimeSpan.FromSeconds(DrainTimeoutSec),
            MaxUploads = MaxUploads,
            Index = new IndexOptions { Shares = shares, Exclude = Exclude },
            Discovery = { Enabled = !NoDiscovery },
            Peers = Peer,
            TargetPeers = TargetPeers,
            NetworkKey = networkKey,
            NetworkKeyFile = networkKeyFile,
            TrustedNodes = trusted,
        };

        var target = $"{ListenAddress}:{Port} sharing {(shares is null ? "what it shared last time" : shares.Count == 0 ? "nothing" : string.Join(", ", shares))}";
        if (!ShouldProcess(target, "Start P2P node"))
        {
            return;
        }

        P2PNode node;
        try
        {
            node = Await(P2PNode.StartAsync(options, StopToken));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, target));
            return;
        }

        NodeRegistry.Add(node);
        try
        {
            using (TraceNode(node.Managed))
            {
                ForEachItem(Peer, address => Await(node.ConnectPeerAsync(address, StopToken)));
            }

            WriteObject(node);
        }
        catch (PipelineStoppedException)
        {
            // Ctrl+C before the node was handed over: nobody holds it, so it must not keep listening.
            node.StopAsync().GetAwaiter().GetResult();
            throw;
        }

        if (Wait)
        {
            WaitUntilStopped(node);
        }
    }

    private static Guid ParseNodeId(string text) =>
        NodeIdText.TryParse(text, out var id) ? id : throw new FormatException($"-TrustedNode '{text}' is not a node id: give it as Get-P2PNode shows it (IdText, such as AAISEM2-EKVTHPQ-CEZVK54-ZXPO74A) or as a GUID");

    /// <summary>-Wait: stays in the foreground until Ctrl+C (or another runspace stops the node), then stops gracefully.</summary>
    private void WaitUntilStopped(P2PNode node)
    {
        WriteVerbose($"node {node.Name} is serving on {node.Endpoint}; press Ctrl+C to stop it");
        var stopped = new TaskCompletionSource();
        node.StatusChanged += (_, change) =>
        {
            if (change.Status == NodeStatus.Stopped)
            {
                stopped.TrySetResult();
            }
        };

        try
        {
            WaitHandle.WaitAny([StopToken.WaitHandle, ((IAsyncResult)stopped.Task).AsyncWaitHandle]);
        }
        finally
        {
            // Runs on Ctrl+C too: the node is never left listening behind a stopped command.
            node.StopAsync().GetAwaiter().GetResult();
        }
    }
}
