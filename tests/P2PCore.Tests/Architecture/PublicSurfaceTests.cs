using P2PTransfer.Node;

namespace P2PTransfer.Tests.Architecture;

/// <summary>
/// The engine's public types are what cmdlets and users see. Everything else is internal, so that the parts behind
/// it (wire, connections, sessions, routing, uploads) can change without breaking anyone.
/// </summary>
public class PublicSurfaceTests
{
    private static readonly string[] Approved =
    [
        "P2PTransfer.Client.NodeClient",
        "P2PTransfer.Client.PingReply",
        "P2PTransfer.Common.NodeLog",
        "P2PTransfer.Common.NodeLogEntry",
        "P2PTransfer.Common.NodeLogLevel",
        "P2PTransfer.Discovery.DiscoveryOptions",
        "P2PTransfer.Identity.NetworkKey",
        "P2PTransfer.Identity.NodeIdText",
        "P2PTransfer.Index.IndexCounters",
        "P2PTransfer.Index.IndexOptions",
        "P2PTransfer.Index.IndexProgress",
        "P2PTransfer.Index.ShareIndex",
        "P2PTransfer.Index.SharedFile",
        "P2PTransfer.Index.SharedFileState",
        "P2PTransfer.Node.IManagedNode",
        "P2PTransfer.Node.NodeCounters",
        "P2PTransfer.Node.NodeOptions",
        "P2PTransfer.Node.NodeService",
        "P2PTransfer.Node.NodeServiceError",
        "P2PTransfer.Node.NodeServiceException",
        "P2PTransfer.Node.NodeServiceInfo",
        "P2PTransfer.Node.NodeSettings",
        "P2PTransfer.Node.NodeStatus",
        "P2PTransfer.Node.NodeStatusEventArgs",
        "P2PTransfer.Node.P2PNode",
        "P2PTransfer.Node.P2PTestNetwork",
        "P2PTransfer.Node.PeerEventArgs",
        "P2PTransfer.Node.ServicePlatform",
        "P2PTransfer.Node.ServiceScope",
        "P2PTransfer.Node.RemoteNode",
        "P2PTransfer.Node.SessionNode",
        "P2PTransfer.Node.TestNetworkLink",
        "P2PTransfer.Node.TestNetworkOptions",
        "P2PTransfer.Node.TestTopology",
        "P2PTransfer.Peers.IPeerHost",
        "P2PTransfer.Peers.P2PPeer",
        "P2PTransfer.Peers.PeerDirection",
        "P2PTransfer.Peers.PeerState",
        "P2PTransfer.Protocol.FileQuery",
        "P2PTransfer.Protocol.NodeAvailability",
        "P2PTransfer.Protocol.NodeUnavailableException",
        "P2PTransfer.Protocol.P2PException",
        "P2PTransfer.Protocol.ProtocolError",
        "P2PTransfer.Search.P2PSearchResult",
        "P2PTransfer.Search.SearchCounters",
        "P2PTransfer.Search.SearchLimits",
        "P2PTransfer.Search.SearchOptions",
        "P2PTransfer.Transfer.DestinationFolderException",
        "P2PTransfer.Transfer.DownloadBatch",
        "P2PTransfer.Transfer.DownloadInUseException",
        "P2PTransfer.Transfer.DownloadItem",
        "P2PTransfer.Transfer.DownloadOptions",
        "P2PTransfer.Transfer.DownloadState",
        "P2PTransfer.Transfer.TransferLimits",
        "P2PTransfer.Transfer.TransferRegistry",
        "P2PTransfer.Transfer.UploadCounters",
    ];

    [Fact]
    public void The_engine_makes_public_only_the_approved_types()
    {
        var exported = typeof(P2PNode).Assembly.GetExportedTypes().Select(t => t.FullName!).ToHashSet(StringComparer.Ordinal);

        var unapproved = exported.Except(Approved).Order(StringComparer.Ordinal).ToList();
        var missing = Approved.Except(exported).Order(StringComparer.Ordinal).ToList();

        Assert.True(
            unapproved.Count == 0,
            $"public types that are not on the approved list (make them internal, or add them to the list in {nameof(PublicSurfaceTests)} if users really see them): {string.Join(", ", unapproved)}");
        Assert.True(missing.Count == 0, $"approved types that are no longer public (remove them from the list in {nameof(PublicSurfaceTests)}): {string.Join(", ", missing)}");
    }
}
