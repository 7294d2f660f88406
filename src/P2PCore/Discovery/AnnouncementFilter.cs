using System.Net;
using P2PTransfer.Common;

namespace P2PTransfer.Discovery;

/// <summary>
/// Decides which announcements a node dials: not its own, only its network's, not a node it is linked to, each
/// node id at most once per redial time (doubled after a failure, up to an hour), and at most so many dials a minute
/// in all, so that a flood of announcements with made-up ids cannot make the node dial without limit.
/// Thread-safe: the receive loop judges while the dial loop reports failures.
/// </summary>
internal sealed class AnnouncementFilter(Guid self, ulong networkTag, DiscoveryOptions options, Func<Guid, bool> isLinked, TimeProvider clock)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);
    private readonly ExpiringMap<Guid, Backoff> _remembered = new(options.MaxRemembered, MaxBackoff + MaxBackoff, clock);
    private readonly RateLimit _dials = new(options.MaxDialsPerMinute / 60.0, options.MaxDialsPerMinute, clock);
    private readonly object _gate = new();

    /// <summary>The endpoint to dial for this datagram and the node id to expect there, or null with the reason it is not dialed.</summary>
    public (IPEndPoint? Dial, Guid NodeId, string? Ignored) Judge(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        if (Announcement.TryDecode(datagram) is not { } announcement)
        {
            return (null, Guid.Empty, "not an announcement");
        }

        lock (_gate)
        {
            var (dial, ignored) = Judge(announcement, from);
            return (dial, announcement.NodeId, ignored);
        }
    }

    private (IPEndPoint? Dial, string? Ignored) Judge(Announcement announcement, IPEndPoint from)
    {
        if (announcement.NodeId == self)
        {
            return (null, "this node's own");
        }

        if (announcement.NetworkTag != networkTag)
        {
            return (null, "another network's");
        }

        if (isLinked(announcement.NodeId))
        {
            return (null, "already linked");
        }

        var now = ClockMilliseconds.Now(clock);
        if (_remembered.TryGetValue(announcement.NodeId, out var backoff) && now < backoff.NextDial)
        {
            return (null, "dialed recently");
        }

        if (!_dials.TryTake())
        {
            return (null, "over the dial rate");
        }

        var wait = backoff?.Wait ?? options.RedialAfter;
        Remember(announcement.NodeId, new Backoff(now + (long)wait.TotalMilliseconds, wait));
        return (new IPEndPoint(from.Address, announcement.Port), null);
    }

    /// <summary>A dial to <paramref name="nodeId"/> failed: the next one waits twice as long, up to an hour.</summary>
    public void Failed(Guid nodeId)
    {
        lock (_gate)
        {
            if (_remembered.TryGetValue(nodeId, out var backoff))
            {
                var wait = TimeSpan.FromTicks(Math.Min(backoff.Wait.Ticks * 2, MaxBackoff.Ticks));
                Remember(nodeId, new Backoff(ClockMilliseconds.Now(clock) + (long)wait.TotalMilliseconds, wait));
            }
        }
    }

    private void Remember(Guid nodeId, Backoff backoff)
    {
        if (!_remembered.TryAdd(nodeId, backoff, out _))
        {
            _remembered.Update(nodeId, backoff);
        }
    }

    private sealed record Backoff(long NextDial, TimeSpan Wait);
}
