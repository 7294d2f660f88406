using P2PTransfer.Peers;

namespace P2PTransfer.Tests.Peers;

public class DuplicateLinkRuleTests
{
    // Lower by wire bytes (big-endian), though higher by little-endian bytes (Guid.ToByteArray).
    private static readonly Guid Lower = new("00000001-0000-0000-0000-0000000000ff");
    private static readonly Guid Higher = new("00000100-0000-0000-0000-000000000000");

    [Fact]
    public void Node_ids_are_ordered_by_their_wire_bytes()
    {
        Assert.True(DuplicateLinkRule.CompareIds(Lower, Higher) < 0);
        Assert.True(DuplicateLinkRule.CompareIds(Higher, Lower) > 0);
        Assert.Equal(0, DuplicateLinkRule.CompareIds(Lower, new Guid(Lower.ToString())));
        // Little-endian bytes would order them the other way: the rule must not use them.
        Assert.True(Lower.ToByteArray().AsSpan().SequenceCompareTo(Higher.ToByteArray()) > 0);
    }

    [Fact]
    public void The_lower_node_dialing_over_a_link_the_higher_node_dialed_keeps_its_new_link()
    {
        Assert.True(DuplicateLinkRule.JudgeDial(Lower, Higher, PeerDirection.Inbound, existingSequence: 5, dialStarted: 7).KeepNew);
    }

    [Fact]
    public void The_higher_node_dialing_over_a_link_the_lower_node_dialed_keeps_the_old_link()
    {
        Assert.False(DuplicateLinkRule.JudgeDial(Higher, Lower, PeerDirection.Inbound, existingSequence: 5, dialStarted: 7).KeepNew);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Of_two_links_the_same_node_dialed_the_older_one_stays_whatever_the_ids(bool localIsLower)
    {
        var (local, remote) = localIsLower ? (Lower, Higher) : (Higher, Lower);
        Assert.False(DuplicateLinkRule.JudgeDial(local, remote, PeerDirection.Outbound, existingSequence: 5, dialStarted: 7).KeepNew);
    }

    [Fact]
    public void Both_nodes_keep_the_link_dialed_by_the_lower_id_whichever_of_them_judges()
    {
        // The lower node dials while the higher node's link is live: it keeps its own (new, dialed by the lower id).
        var lowerJudges = DuplicateLinkRule.JudgeDial(Lower, Higher, PeerDirection.Inbound, 1, 1);
        // The higher node dials while the lower node's link is live: it keeps the old one (dialed by the lower id).
        var higherJudges = DuplicateLinkRule.JudgeDial(Higher, Lower, PeerDirection.Inbound, 1, 1);
        Assert.True(lowerJudges.KeepNew);
        Assert.False(higherJudges.KeepNew);
    }

    [Theory]
    [InlineData(6, 7, true)]
    [InlineData(7, 7, true)]
    [InlineData(8, 7, false)]
    public void A_dial_is_a_duplicate_when_the_link_it_meets_was_made_before_the_dial_began(long existingSequence, long dialStarted, bool alreadyLinked)
    {
        foreach (var direction in new[] { PeerDirection.Inbound, PeerDirection.Outbound })
        {
            foreach (var (local, remote) in new[] { (Lower, Higher), (Higher, Lower) })
            {
                Assert.Equal(alreadyLinked, DuplicateLinkRule.JudgeDial(local, remote, direction, existingSequence, dialStarted).AlreadyLinked);
            }
        }
    }

    [Fact]
    public void A_waiting_duplicate_link_expires_only_after_the_handshake_timeout()
    {
        var timeout = TimeSpan.FromSeconds(5);
        Assert.False(DuplicateLinkRule.PendingExpired(now: 105_000, createdAt: 100_000, timeout));
        Assert.True(DuplicateLinkRule.PendingExpired(now: 105_001, createdAt: 100_000, timeout));
    }
}
