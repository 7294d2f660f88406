using P2PTransfer.Net;
using P2PTransfer.Node;
using P2PTransfer.Protocol;

namespace P2PTransfer.Peers;

/// <summary>Which side dialed a peer link.</summary>
public enum PeerDirection
{
    Inbound,
    Outbound,
}

/// <summary>A link as seen from this node.</summary>
public enum PeerState
{
    /// <summary>Up and available.</summary>
    Connected,
    /// <summary>The remote announced it is closing: no new requests are sent to it.</summary>
    RemoteClosing,
    /// <summary>Gone.</summary>
    Disconnected,
}

/// <summary>A lasting link between two servers; either side may send requests over it.</summary>
public sealed class PeerLink : Session
{
    private readonly P2PNode _node;

    public PeerLink(P2PNode node, FrameConnection connection, PeerDirection direction, Guid remoteId, string remoteName, string remoteEndpoint, long sequence)
        : base(connection, remoteId, remoteName, remoteEndpoint, NodeAvailability.Available)
    {
        _node = node;
        Direction = direction;
        Sequence = sequence;
    }

    public PeerDirection Direction { get; }

    /// <summary>Order in which the node made its links: tells a link made before a dial from one made during it.</summary>
    public long Sequence { get; }

    public PeerState State => IsClosing
        ? PeerState.Disconnected
        : RemoteAvailability == NodeAvailability.Closing ? PeerState.RemoteClosing : PeerState.Connected;

    public P2PPeer Snapshot() => new(this, _node);

    protected override void OnRemoteStatus(NodeAvailability availability) =>
        _node.Log.Write(NodeLogLevel.Information, $"peer {Describe()} is now {availability}");
}
