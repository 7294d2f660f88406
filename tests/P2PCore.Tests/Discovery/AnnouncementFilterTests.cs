using System.Net;
using P2PTransfer.Discovery;
using P2PTransfer.Tests.Support;
using Xunit;

namespace P2PTransfer.Tests.Discovery;

public sealed class AnnouncementFilterTests
{
    private static readonly Guid Self = Guid.NewGuid();
    private static readonly IPEndPoint From = new(IPAddress.Parse("198.18.0.2"), 40000);
    private readonly ManualClock _clock = new();
    private readonly HashSet<Guid> _linked = [];

    private AnnouncementFilter Filter(ulong tag = 0, int dialsPerMinute = 10) =>
        new(Self, tag, new DiscoveryOptions { MaxDialsPerMinute = dialsPerMinute, RedialAfter = TimeSpan.FromMinutes(1) }, _linked.Contains, _clock);

    private static byte[] Announce(Guid id, ushort port = 47100, ulong tag = 0) => new Announcement(id, port, tag).Encode();

    [Fact]
    public void An_announcement_is_dialed_at_the_address_it_came_from_with_the_port_it_names()
    {
        var other = Guid.NewGuid();
        var (dial, nodeId, ignored) = Filter().Judge(Announce(other, 47123), From);
        Assert.Null(ignored);
        Assert.Equal(new IPEndPoint(From.Address, 47123), dial);
        Assert.Equal(other, nodeId);
    }

    [Fact]
    public void The_nodes_own_announcements_other_networks_and_linked_nodes_are_not_dialed()
    {
        var filter = Filter(tag: 7);
        Assert.Null(filter.Judge(Announce(Self, tag: 7), From).Dial);
        Assert.Null(filter.Judge(Announce(Guid.NewGuid(), tag: 8), From).Dial);
        Assert.Null(filter.Judge(Announce(Guid.NewGuid(), tag: 0), From).Dial);
        var linked = Guid.NewGuid();
        _linked.Add(linked);
        Assert.Null(filter.Judge(Announce(linked, tag: 7), From).Dial);
        Assert.NotNull(filter.Judge(Announce(Guid.NewGuid(), tag: 7), From).Dial);
    }

    [Fact]
    public void A_node_is_dialed_again_only_after_the_redial_time_and_twice_as_late_after_a_failure()
    {
        var filter = Filter();
        var other = Guid.NewGuid();
        Assert.NotNull(filter.Judge(Announce(other), From).Dial);
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("dialed recently", filter.Judge(Announce(other), From).Ignored);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.NotNull(filter.Judge(Announce(other), From).Dial);

        filter.Failed(other);
        _clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Null(filter.Judge(Announce(other), From).Dial);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.NotNull(filter.Judge(Announce(other), From).Dial);
    }

    [Fact]
    public void A_flood_of_announcements_under_made_up_ids_makes_at_most_the_dial_rate_of_dials()
    {
        var filter = Filter(dialsPerMinute: 10);
        int dials = 0;
        for (int i = 0; i < 10_000; i++)
        {
            if (filter.Judge(Announce(Guid.NewGuid()), From).Dial is not null)
            {
                dials++;
            }
        }

        Assert.Equal(10, dials);
        _clock.Advance(TimeSpan.FromSeconds(30));
        dials = 0;
        for (int i = 0; i < 10_000; i++)
        {
            if (filter.Judge(Announce(Guid.NewGuid()), From).Dial is not null)
            {
                dials++;
            }
        }

        Assert.Equal(5, dials);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    public void A_datagram_of_another_length_is_not_an_announcement(int length)
    {
        var datagram = new byte[length];
        Announce(Guid.NewGuid()).AsSpan(0, Math.Min(length, Announcement.Length)).CopyTo(datagram);
        Assert.Equal("not an announcement", Filter().Judge(datagram, From).Ignored);
    }

    [Fact]
    public void An_announcement_reads_back_as_written_and_a_wrong_magic_version_zero_id_or_zero_port_is_refused()
    {
        var id = Guid.NewGuid();
        Assert.Equal(new Announcement(id, 47100, 42), Announcement.TryDecode(new Announcement(id, 47100, 42).Encode()));

        foreach (var (at, value) in new[] { (0, (byte)0), (4, (byte)2), (5, (byte)1) })
        {
            var bytes = Announce(id);
            bytes[at] = value;
            Assert.Null(Announcement.TryDecode(bytes));
        }

        Assert.Null(Announcement.TryDecode(new Announcement(Guid.Empty, 47100, 0).Encode()));
        Assert.Null(Announcement.TryDecode(new Announcement(id, 0, 0).Encode()));
    }

    [Fact]
    public void Members_of_one_network_share_a_tag_that_differs_from_other_keys_and_from_the_open_network()
    {
        var key = new byte[32];
        key[0] = 1;
        var other = new byte[32];
        Assert.Equal(0UL, LocalDiscovery.TagOf(default));
        Assert.Equal(LocalDiscovery.TagOf(key), LocalDiscovery.TagOf((byte[])key.Clone()));
        Assert.NotEqual(LocalDiscovery.TagOf(key), LocalDiscovery.TagOf(other));
        Assert.NotEqual(0UL, LocalDiscovery.TagOf(key));
    }
}
