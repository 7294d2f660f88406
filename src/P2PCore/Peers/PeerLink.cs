using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Peers;

/// <summary>
/// A lasting link between two servers; either side may send requests over it. The requests it receives go to
/// <paramref name="requests"/>; what it shows of itself (<see cref="Snapshot"/>) is made by <paramref name="snapshot"/>,
/// which knows the node that holds it.
/// </summary>
internal sealed class PeerLink(
    FrameConnection connection,
    PeerDirection direction,
    Guid remoteId,
    string remoteName,
    string remoteEndpoint,
    long sequence,
    NodeLog log,
    IPeerRequestHandler requests,
    Func<PeerLink, P2PPeer> snapshot)
    : Session(connection, remoteId, remoteName, remoteEndpoint, NodeAvailability.Available)
{
    public PeerDirection Direction { get; } = direction;

    /// <summary>Order in which the node made its links: tells a link made before a dial from one made during it.</summary>
    public long Sequence { get; } = sequence;

    public PeerState State => IsClosing
        ? PeerState.Disconnected
        : RemoteAvailability == NodeAvailability.Closing ? PeerState.RemoteClosing : PeerState.Connected;

    public P2PPeer Snapshot() => snapshot(this);

    protected override bool TakesRequest(MessageCode code) => code is MessageCode.Query or MessageCode.QueryHit or MessageCode.PeerExchange;

    protected override ValueTask<bool> HandleRequestAsync(IMessage message, CancellationToken cancellationToken)
    {
        switch (message)
        {
            case Query query:
                requests.OnQuery(this, query);
                return ValueTask.FromResult(true);
            case QueryHit hit:
                requests.OnQueryHit(this, hit);
                return ValueTask.FromResult(true);
            case PeerExchange exchange:
                requests.OnPeerExchange(this, exchange);
                return ValueTask.FromResult(true);
            default:
                return base.HandleRequestAsync(message, cancellationToken);
        }
    }

    protected override void OnRemoteStatus(NodeAvailability availability) =>
        log.Write(NodeLogLevel.Information, $"peer {Describe()} is now {availability}");
}
