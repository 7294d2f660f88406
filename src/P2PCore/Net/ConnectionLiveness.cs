namespace P2PTransfer.Net;

/// <summary>
/// The one judgement of whether a connection is alive, made from its clock readings (milliseconds of
/// Environment.TickCount64) so that it is the same everywhere: when to ping, when a peer is dead, when a slow
/// remote is still draining bulk data, when a reader has failed to take its frames, and when a wait for a
/// source's answer has stalled. Pure: every judgement takes the time it is made at.
/// </summary>
/// <param name="pingAfter">Quiet after which a connection is pinged.</param>
/// <param name="deadAfter">Quiet after which a connection whose ping is unanswered is dead.</param>
internal sealed class ConnectionLiveness(TimeSpan pingAfter, TimeSpan deadAfter)
{
    /// <summary>How often a wait for a source's answer looks at the source's progress (see <see cref="HasStalled"/>).</summary>
    public static readonly TimeSpan StallLookInterval = TimeSpan.FromSeconds(1);

    public TimeSpan PingAfter { get; } = pingAfter;

    public TimeSpan DeadAfter { get; } = deadAfter;

    /// <summary>
    /// A remote that takes a whole frame at least this often is alive, however long answers wait behind them: a
    /// 1 MiB piece takes seconds on a slow link, and a Ping queued behind it cannot be answered sooner (30 s by default).
    /// </summary>
    public TimeSpan SlowReaderGrace => DeadAfter * 5;

    /// <summary>
    /// Keep-alive on one tick: ping a connection quiet for <see cref="PingAfter"/>; close it when that ping (and
    /// anything else) stays unanswered until <see cref="DeadAfter"/> of quiet. Death is judged from an unanswered
    /// ping, not from quiet alone, so a stall on this side never drops a healthy peer; and never while the
    /// connection is draining (<see cref="IsDraining"/>).
    /// </summary>
    /// <param name="pingSentAt">When the last keep-alive ping was sent; 0 before any.</param>
    public KeepAliveStep KeepAlive(long now, ConnectionActivity activity, long pingSentAt)
    {
        bool pingOutstanding = pingSentAt > activity.LastReceived;
        if (pingOutstanding && !IsDraining(now, activity) && now - pingSentAt > (DeadAfter - PingAfter).TotalMilliseconds)
        {
            return KeepAliveStep.Close;
        }

        return !pingOutstanding && now - activity.LastReceived > PingAfter.TotalMilliseconds ? KeepAliveStep.Ping : KeepAliveStep.Wait;
    }

    /// <summary>
    /// A remote still taking the bulk data queued ahead of a ping is slow, not dead: the data may wait in the send
    /// queue while frames keep leaving, or already sit in the kernel's buffers after a large frame, which a slow
    /// link takes seconds to empty. Either holds for <see cref="SlowReaderGrace"/>.
    /// </summary>
    public bool IsDraining(long now, ConnectionActivity activity)
    {
        long grace = (long)SlowReaderGrace.TotalMilliseconds;
        return (activity.IsSending && now - activity.LastSent < grace) || now - activity.LastLargeFrameSent < grace;
    }

    /// <summary>
    /// Small frames (search results, answers) wait to be sent and nothing has left for <see cref="DeadAfter"/>:
    /// the remote writes but does not read.
    /// </summary>
    public bool HasStoppedReading(long now, long lastSent) => now - lastSent > DeadAfter.TotalMilliseconds;

    /// <summary>
    /// Large frames (pieces) wait to be sent and nothing has left for <see cref="SlowReaderGrace"/>: the remote
    /// asks but does not read.
    /// </summary>
    public bool HasStoppedReadingLargeFrames(long now, long lastSent) => now - lastSent > SlowReaderGrace.TotalMilliseconds;

    /// <summary>
    /// A wait for a source's answer, looked at every <see cref="StallLookInterval"/>: whether the source has
    /// stalled, having delivered nothing (no answer, no bytes of a large frame) since <paramref name="lastDelivered"/>
    /// (at the latest when the wait began) for longer than <paramref name="stallTimeout"/>. A look that comes a
    /// second late (more than twice the interval after <paramref name="previousLook"/>) means this side stalled (a
    /// busy machine, a suspended laptop): the connection's reader did not run either, so bytes that came meanwhile
    /// are not counted yet. Such a look does not judge the source, up to three stall timeouts.
    /// </summary>
    public static bool HasStalled(long now, long previousLook, long lastDelivered, TimeSpan stallTimeout)
    {
        bool late = now - previousLook > 2 * StallLookInterval.TotalMilliseconds;
        if (late && now - lastDelivered < 3 * stallTimeout.TotalMilliseconds)
        {
            return false;
        }

        return now - lastDelivered > stallTimeout.TotalMilliseconds;
    }
}
