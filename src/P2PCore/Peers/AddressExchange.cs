using P2PTransfer.Common;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Peers;

/// <summary>
/// Peer exchange: a node tells each peer the nodes it was linked to most recently (at most
/// <see cref="PeerExchange.MaxPeers"/>), when the link comes up and again when that list changed, at most once a
/// minute a link; and takes what a peer tells it into its host cache as hosts learned (never replacing what it
/// learned itself), at most one message a minute from each link: more are dropped. Thread-safe.
/// </summary>
internal sealed class AddressExchange(Guid self, HostCache hosts, TimeProvider? clock = null)
{
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly object _gate = new();
    private readonly Dictionary<Guid, LinkState> _links = [];

    /// <summary>Messages dropped because a link sent more than one a minute.</summary>
    public long Dropped { get; private set; }

    /// <summary>What to send to <paramref name="peer"/> now, or null when nothing is due.</summary>
    public PeerExchange? Due(Guid peer)
    {
        var offer = hosts.Recent(PeerExchange.MaxPeers + 1).Where(h => h.NodeId != peer).Take(PeerExchange.MaxPeers).Select(h => new RouteHop(h.NodeId, h.Endpoint)).ToList();
        var fingerprint = string.Join('|', offer.Select(h => h.NodeId + "@" + h.Endpoint).Order(StringComparer.Ordinal));
        long now = ClockMilliseconds.Now(_clock);
        lock (_gate)
        {
            var state = State(peer);
            if (offer.Count == 0 || fingerprint == state.SentFingerprint || (state.SentAt is { } sent && now - sent < Period.TotalMilliseconds))
            {
                return null;
            }

            state.SentFingerprint = fingerprint;
            state.SentAt = now;
            return new PeerExchange(offer);
        }
    }

    /// <summary>Takes what <paramref name="from"/> told; false when it came within a minute of the last one (dropped).</summary>
    public bool Receive(Guid from, PeerExchange message)
    {
        long now = ClockMilliseconds.Now(_clock);
        lock (_gate)
        {
            var state = State(from);
            if (state.ReceivedAt is { } received && now - received < Period.TotalMilliseconds)
            {
                Dropped++;
                return false;
            }

            state.ReceivedAt = now;
        }

        foreach (var peer in message.Peers.Where(p => p.NodeId != self && p.NodeId != from))
        {
            hosts.Learned(peer.Endpoint, peer.NodeId);
        }

        return true;
    }

    /// <summary>The link to <paramref name="peer"/> is gone: a new one starts afresh.</summary>
    public void Forget(Guid peer)
    {
        lock (_gate)
        {
            _links.Remove(peer);
        }
    }

    private LinkState State(Guid peer)
    {
        if (!_links.TryGetValue(peer, out var state))
        {
            state = new LinkState();
            _links[peer] = state;
        }

        return state;
    }

    private sealed class LinkState
    {
        public string? SentFingerprint { get; set; }

        public long? SentAt { get; set; }

        public long? ReceivedAt { get; set; }
    }
}
