using P2PTransfer.Protocol;
using P2PTransfer.Transfer;

namespace P2PTransfer.Tests.Transfer.Download;

/// <summary>When a download's source is asked again, benched or dropped, from explicit clock readings (milliseconds).</summary>
public class SourceHealthTests
{
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(10);
    private static readonly long RetryDelay = (long)TransferLimits.BusyRetryDelay.TotalMilliseconds;
    private static readonly long GiveUp = (long)TransferLimits.BusyGiveUpAfter.TotalMilliseconds;

    private static DownloadItem Item() => new(1, new byte[32], "f.bin", null, Path.Combine(Path.GetTempPath(), "f.bin"));

    [Theory]
    [InlineData(20_000, 15_000, false)]
    [InlineData(25_000, 15_000, false)]
    [InlineData(25_001, 15_000, true)]
    public void A_source_has_stalled_once_it_delivered_nothing_for_longer_than_the_stall_timeout(long now, long lastDelivery, bool stalled) =>
        Assert.Equal(stalled, SourceHealth.IsStalled(now, now - 1000, waitingSince: 0, lastDelivery, Stall));

    [Theory]
    [InlineData(30_000, false)]
    [InlineData(30_001, true)]
    public void The_wait_counts_from_when_it_began_when_the_source_delivered_last_before_it(long now, bool stalled) =>
        Assert.Equal(stalled, SourceHealth.IsStalled(now, now - 1000, waitingSince: 20_000, lastDelivery: 5_000, Stall));

    [Theory]
    [InlineData(2_000, true)]
    [InlineData(2_001, false)]
    [InlineData(6_000, false)]
    public void A_look_that_comes_more_than_a_second_late_does_not_judge_the_source(long sincePreviousLook, bool stalled) =>
        Assert.Equal(stalled, SourceHealth.IsStalled(40_000, 40_000 - sincePreviousLook, waitingSince: 0, lastDelivery: 15_000, Stall));

    [Theory]
    [InlineData(44_999, false)]
    [InlineData(45_000, true)]
    public void A_late_look_judges_again_once_nothing_was_delivered_for_three_stall_timeouts(long now, bool stalled) =>
        Assert.Equal(stalled, SourceHealth.IsStalled(now, now - 5_000, waitingSince: 0, lastDelivery: 15_000, Stall));

    [Fact]
    public void A_busy_source_is_benched_for_the_retry_delay_then_asked_again()
    {
        var health = new SourceHealth(Item(), Stall, null);
        Assert.False(health.IsBenched("a:1", 0));

        Assert.True(health.Busy("a:1", 1_000));

        Assert.True(health.IsBenched("a:1", 1_000 + RetryDelay - 1));
        Assert.False(health.IsBenched("a:1", 1_000 + RetryDelay));
        Assert.False(health.IsBenched("b:1", 1_000));
        Assert.False(health.IsDropped("a:1"));
    }

    [Fact]
    public void A_source_busy_for_longer_than_the_give_up_time_is_given_up_and_a_delivery_starts_its_count_afresh()
    {
        var health = new SourceHealth(Item(), Stall, null);
        Assert.True(health.Busy("a:1", 0));
        Assert.True(health.Busy("a:1", GiveUp));
        Assert.False(health.Busy("a:1", GiveUp + 1));

        health.Delivered("a:1");
        Assert.True(health.Busy("a:1", GiveUp + 2));
        Assert.True(health.Busy("a:1", (2 * GiveUp) + 2));
    }

    [Fact]
    public void Waiting_for_busy_sources_ends_at_the_give_up_time_after_the_first_busy_answer_or_when_none_is_busy_any_more()
    {
        var health = new SourceHealth(Item(), Stall, null);
        Assert.False(health.WorthWaitingForBusy(0));

        health.Busy("a:1", 0);
        health.Busy("b:1", 30_000);
        Assert.True(health.WorthWaitingForBusy(GiveUp - 1));
        Assert.False(health.WorthWaitingForBusy(GiveUp));

        health.Drop("a:1", new P2PException(ProtocolError.UnknownFile, "unknown"));
        health.Drop("b:1", new P2PException(ProtocolError.UnknownFile, "unknown"));
        Assert.False(health.WorthWaitingForBusy(1_000));
    }

    [Fact]
    public void Sources_still_busy_when_none_is_left_to_ask_are_dropped_with_that_reason_and_the_error_is_NodeBusy()
    {
        var item = Item();
        var health = new SourceHealth(item, Stall, null);
        health.Busy("a:1", 0);
        health.Busy("b:1", 0);
        health.Delivered("b:1");

        health.DropStillBusy();

        Assert.True(health.IsDropped("a:1"));
        Assert.False(health.IsDropped("b:1"));
        Assert.Equal("still busy after 60 s", item.SourceFailures["a:1"]);
        var error = health.NoSourceLeft("no source gave its piece list");
        Assert.Equal(ProtocolError.NodeBusy, error.Code);
        Assert.Equal("'f.bin' could not be downloaded (no source gave its piece list); every source failed: a:1: still busy after 60 s", error.Message);
    }

    [Fact]
    public void A_dropped_source_is_recorded_for_the_user_and_the_error_code_is_the_one_every_source_shares_or_bad_data_or_a_lost_connection()
    {
        var item = Item();
        var health = new SourceHealth(item, Stall, null);
        health.Drop("a:1", new P2PException(ProtocolError.UnknownFile, "not shared"));
        health.Drop("b:1", new P2PException(ProtocolError.UnknownFile, "not shared either"));

        Assert.True(health.IsDropped("A:1"));
        Assert.Equal("not shared", item.SourceFailures["a:1"]);
        Assert.Equal(ProtocolError.UnknownFile, health.NoSourceLeft("x").Code);

        health.Drop("c:1", new IOException("reset"));
        Assert.Equal(ProtocolError.ConnectionLost, health.NoSourceLeft("x").Code);

        health.Drop("d:1", new P2PException(ProtocolError.VerificationFailed, "bad data"));
        Assert.Equal(ProtocolError.VerificationFailed, health.NoSourceLeft("x").Code);
    }
}
