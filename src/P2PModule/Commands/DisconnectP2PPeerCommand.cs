using System.Management.Automation;
using P2PTransfer.Node;
using P2PTransfer.Peers;

namespace P2PTransfer.Module.Commands;

/// <summary>Disconnect-P2PPeer: closes peer links, from Get-P2PPeer objects or by endpoint or node id.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "P2PPeer", SupportsShouldProcess = true, DefaultParameterSetName = PeerSet, HelpUri = HelpLinks.Cmdlets + "Disconnect-P2PPeer.md")]
[OutputType(typeof(void))]
public sealed class DisconnectP2PPeerCommand : NodeCmdlet
{
    private const string PeerSet = "Peer";
    private const string EndpointSet = "Endpoint";

    [Parameter(ParameterSetName = PeerSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public P2PPeer[] Peer { get; set; } = [];

    /// <summary>The peer's advertised endpoint, its socket address, or its node id.</summary>
    [Parameter(ParameterSetName = EndpointSet, Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(EndpointCompleter))]
    public string[] Endpoint { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (ParameterSetName == PeerSet)
        {
            ForEachItem(Peer, Disconnect);
            return;
        }

        if (!TryGetTargetNode(out var node))
        {
            return;
        }

        ForEachItem(Endpoint, endpoint =>
        {
            var peer = Await(node.GetPeersAsync(StopToken)).FirstOrDefault(p =>
                string.Equals(p.Endpoint, endpoint, StringComparison.OrdinalIgnoreCase)
                || string.Equals(p.RemoteAddress, endpoint, StringComparison.OrdinalIgnoreCase)
                || p.NodeId.ToString().Equals(endpoint, StringComparison.OrdinalIgnoreCase));
            if (peer is null)
            {
                throw new P2PCmdletException("PeerNotFound", ErrorCategory.ObjectNotFound, $"node {node.Name} has no link to '{endpoint}'");
            }

            Disconnect(peer);
        });
    }

    private void Disconnect(P2PPeer peer)
    {
        if (!ShouldProcess($"{peer.LocalNode.Name} -> {peer}", "Disconnect P2P peer"))
        {
            return;
        }

        // A peer's local node is a node of this session or one reached through its control channel.
        using var trace = peer.LocalNode is IManagedNode managed ? TraceNode(managed) : TraceNode(((P2PNode)peer.LocalNode).Managed);
        if (!Await(peer.LocalNode.DisconnectPeerAsync(peer.NodeId)))
        {
            throw new P2PCmdletException("PeerNotFound", ErrorCategory.ObjectNotFound, $"node {peer.LocalNode.Name} has no link to {peer}");
        }
    }
}
