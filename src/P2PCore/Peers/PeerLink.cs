using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Node;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

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
        QueryRate = new RateLimit(node.Options.QueriesPerPeerPerSecond, node.Options.QueriesPerPeerPerSecond * 2);
        RecentResponses = new RecentResponses(node.Search.RecentWindow);
    }

    /// <summary>How many search requests this peer may send: a flood is dropped, not queued.</summary>
    internal RateLimit QueryRate { get; }

    /// <summary>Responses this link was handed lately, delivered again directly if it breaks.</summary>
    internal RecentResponses RecentResponses { get; }

    public PeerDirection Direction { get; }

    /// <summary>Order in which the node made its links: tells a link made before a dial from one made during it.</summary>
    public long Sequence { get; }

    public PeerState State => IsClosing
        ? PeerState.Disconnected
        : RemoteAvailability == NodeAvailability.Closing ? PeerState.RemoteClosing : PeerState.Connected;

    public P2PPeer Snapshot() => new(this, _node);

    protected override bool TakesRequest(MessageCode code) => code is MessageCode.Query or MessageCode.QueryHit;

    protected override ValueTask<bool> HandleRequestAsync(IMessage message, CancellationToken cancellationToken)
    {
        switch (message)
        {
            case Query query:
                _node.Search.OnQuery(this, query);
                return ValueTask.FromResult(true);
            case QueryHit hit:
                _node.Search.OnQueryHit(this, hit);
                return ValueTask.FromResult(true);
            default:
                return base.HandleRequestAsync(message, cancellationToken);
        }
    }

    protected override void OnRemoteStatus(NodeAvailability availability) =>
        _node.Log.Write(NodeLogLevel.Information, $"peer {Describe()} is now {availability}");
}
