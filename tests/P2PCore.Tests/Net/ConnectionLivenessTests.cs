using P2PTransfer.Net;

namespace P2PTransfer.Tests.Net;

/// <summary>The liveness judgements, on explicit clock readings (milliseconds), with the default 2 s ping and 6 s dead-after.</summary>
public class ConnectionLivenessTests
{
    private const long Start = 1_000_000;
    private static readonly ConnectionLiveness Liveness = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(6));

    /// <summary>Nothing queued, nothing large ever sent: only frames received count.</summary>
    private static ConnectionActivity Quiet(long lastReceived) => new(lastReceived, Start, 0, false);

    [Fact]
    public void A_connection_quiet_for_the_ping_time_is_pinged_and_not_before()
    {
        Assert.Equal(KeepAliveStep.Wait, Liveness.KeepAlive(Start + 2_000, Quiet(Start), pingSentAt: 0));
        Assert.Equal(KeepAliveStep.Ping, Liveness.KeepAlive(Start + 2_001, Quiet(Start), pingSentAt: 0));
    }

    [Fact]
    public void An_unanswered_ping_is_awaited_until_the_dead_after_time_of_quiet_then_the_connection_is_closed()
    {
        long pingSent = Start + 2_001;
        // Dead-after minus ping-after (4 s) from the ping: 6 s of quiet in all.
        Assert.Equal(KeepAliveStep.Wait, Liveness.KeepAlive(pingSent + 1, Quiet(Start), pingSent));
        Assert.Equal(KeepAliveStep.Wait, Liveness.KeepAlive(pingSent + 4_000, Quiet(Start), pingSent));
        Assert.Equal(KeepAliveStep.Close, Liveness.KeepAlive(pingSent + 4_001, Quiet(Start), pingSent));
    }

    [Fact]
    public void A_frame_received_after_the_ping_answers_it_and_quiet_is_counted_again_from_that_frame()
    {
        long pingSent = Start + 2_001;
        var answered = Quiet(pingSent + 10);
        Assert.Equal(KeepAliveStep.Wait, Liveness.KeepAlive(pingSent + 10 + 2_000, answered, pingSent));
        Assert.Equal(KeepAliveStep.Ping, Liveness.KeepAlive(pingSent + 10 + 2_001, answered, pingSent));
        Assert.Equal(KeepAliveStep.Ping, Liveness.KeepAlive(pingSent + 60_000, answered, pingSent));
    }

    [Fact]
    public void Quiet_alone_never_kills_a_connection_that_was_not_pinged()
    {
        Assert.Equal(KeepAliveStep.Ping, Liveness.KeepAlive(Start + 600_000, Quiet(Start), pingSentAt: 0));
    }

    [Fact]
    public void A_remote_still_taking_queued_frames_is_draining_for_five_dead_after_times_and_is_not_closed_meanwhile()
    {
        long pingSent = Start + 2_001;
        long now = pingSent + 10_000;
        var sending = new ConnectionActivity(Start, LastSent: now - 29_999, LastLargeFrameSent: 0, IsSending: true);
        Assert.Equal(30_000, Liveness.SlowReaderGrace.TotalMilliseconds);
        Assert.True(Liveness.IsDraining(now, sending));
        Assert.Equal(KeepAliveStep.Wait, Liveness.KeepAlive(now, sending, pingSent));

        var stuck = sending with { LastSent = now - 30_000 };
        Assert.False(Liveness.IsDraining(now, stuck));
        Assert.Equal(KeepAliveStep.Close, Liveness.KeepAlive(now, stuck, pingSent));
    }

    [Fact]
    public void Frames_sent_recently_do_not_count_as_draining_once_nothing_waits_to_be_sent()
    {
        long now = Start + 20_000;
        Assert.False(Liveness.IsDraining(now, new ConnectionActivity(Start, LastSent: now - 1, LastLargeFrameSent: 0, IsSending: false)));
        Assert.Equal(KeepAliveStep.Close, Liveness.KeepAlive(now, new ConnectionActivity(Start, now - 1, 0, false), pingSentAt: Start + 2_001));
    }

    [Fact]
    public void A_large_frame_sent_within_the_grace_counts_as_draining_even_with_nothing_queued_as_its_tail_sits_in_the_kernels_buffers()
    {
        long now = Start + 20_000;
        var afterPiece = new ConnectionActivity(Start, LastSent: now - 29_999, LastLargeFrameSent: now - 29_999, IsSending: false);
        Assert.True(Liveness.IsDraining(now, afterPiece));
        Assert.Equal(KeepAliveStep.Wait, Liveness.KeepAlive(now, afterPiece, pingSentAt: Start + 2_001));
        Assert.False(Liveness.IsDraining(now, afterPiece with { LastLargeFrameSent = now - 30_000 }));
    }

    [Fact]
    public void A_reader_of_small_frames_has_stopped_reading_when_nothing_left_for_the_dead_after_time()
    {
        Assert.False(Liveness.HasStoppedReading(Start + 6_000, lastSent: Start));
        Assert.True(Liveness.HasStoppedReading(Start + 6_001, lastSent: Start));
    }

    [Fact]
    public void A_reader_of_large_frames_has_stopped_reading_only_after_the_slow_readers_grace()
    {
        Assert.False(Liveness.HasStoppedReadingLargeFrames(Start + 30_000, lastSent: Start));
        Assert.True(Liveness.HasStoppedReadingLargeFrames(Start + 30_001, lastSent: Start));
    }

    [Fact]
    public void A_look_on_time_finds_a_source_stalled_once_it_delivered_nothing_for_the_stall_timeout()
    {
        var stall = TimeSpan.FromSeconds(10);
        long now = Start + 20_000;
        Assert.False(ConnectionLiveness.HasStalled(now, previousLook: now - 1_000, lastDelivered: now - 10_000, stall));
        Assert.True(ConnectionLiveness.HasStalled(now, previousLook: now - 1_000, lastDelivered: now - 10_001, stall));
        Assert.True(ConnectionLiveness.HasStalled(now, previousLook: now - 2_000, lastDelivered: now - 10_001, stall));
    }

    [Fact]
    public void A_look_that_comes_late_does_not_judge_the_source_up_to_three_stall_timeouts()
    {
        var stall = TimeSpan.FromSeconds(10);
        long now = Start + 100_000;
        // More than two look intervals after the previous look: this side stalled, not (only) the source.
        Assert.False(ConnectionLiveness.HasStalled(now, previousLook: now - 2_001, lastDelivered: now - 29_999, stall));
        Assert.True(ConnectionLiveness.HasStalled(now, previousLook: now - 2_001, lastDelivered: now - 30_000, stall));
    }
}
