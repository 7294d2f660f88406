using System.Runtime.CompilerServices;
using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>A peer link as search routing sees it. One per link (<see cref="Of"/>), so the router's state of a link is found again.</summary>
internal sealed class PeerSearchLink : ISearchLink
{
    private static readonly ConditionalWeakTable<PeerLink, PeerSearchLink> Links = [];

    private readonly PeerLink _link;

    private PeerSearchLink(PeerLink link)
    {
        _link = link;
        RemoteAddress = SourceAddress.Of(link.Connection.RemoteEndPoint).Address;
    }

    public Guid RemoteId => _link.RemoteId;

    public string RemoteName => _link.RemoteName;

    public string RemoteAddress { get; }

    public bool IsClosing => _link.IsClosing;

    public bool RemoteIsClosing => _link.RemoteAvailability == NodeAvailability.Closing;

    public static PeerSearchLink Of(PeerLink link) => Links.GetValue(link, l => new PeerSearchLink(l));

    public long QueuedBytes => _link.Connection.QueuedBytes;

    public TimeSpan TakeSendTime() => _link.Connection.TakeSendTime();

    public bool TrySend(IMessage frame, int headroom) =>
        _link.Connection.QueuedFrames < ProtocolLimits.SendQueueCapacity - headroom && _link.Connection.TrySend(frame);
}
