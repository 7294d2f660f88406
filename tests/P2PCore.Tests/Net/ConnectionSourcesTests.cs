using P2PTransfer.Net;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Net;

public sealed class ConnectionSourcesTests
{
    private static readonly SourceLimitOptions Limits = new(ClientsPerAddress: 2, PeersPerAddress: 1, PeersPerSubnet: 2, ConnectsPerMinute: 3, FirstBan: TimeSpan.FromMinutes(5), LongestBan: TimeSpan.FromHours(1));

    [Fact]
    public void BansDoubleWithEachOffenceUpToTheLongestAndAnAddressCleanForThatLongStartsOver()
    {
        var clock = new ManualClock();
        var sources = new ConnectionSources(Limits, clock);
        var bans = new List<TimeSpan>();
        for (int offence = 0; offence < 6; offence++)
        {
            bans.Add(Offend(sources, clock));
            clock.Advance(bans[^1]);
            Assert.False(sources.IsBanned("127.0.0.5"));
        }

        Assert.Equal([5, 10, 20, 40, 60, 60], bans.Select(b => b.TotalMinutes));

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMinutes(5), Offend(sources, clock));
    }

    [Fact]
    public void AConnectionIsCountedAgainstItsAddressUntilItsTicketIsDisposedAndPeerLinksAgainstTheirSubnet()
    {
        var sources = new ConnectionSources(Limits with { ConnectsPerMinute = 1000 }, new ManualClock());
        var a1 = Admit(sources, "127.0.0.5:1000");
        var a2 = Admit(sources, "127.0.0.5:1001");
        var a3 = Admit(sources, "127.0.0.5:1002");
        Assert.Equal(SourceVerdict.Refused, sources.Admit("127.0.0.5:1003", out _, out var full));
        Assert.Contains("holds 3 connections", full);

        Assert.True(a1.TryTakeRole(peer: false, out _));
        Assert.True(a2.TryTakeRole(peer: true, out _));
        Assert.False(a3.TryTakeRole(peer: true, out var peers));
        Assert.Contains("peer links", peers);
        a3.Dispose();

        // Another address of the same /24 may link once more; then the subnet holds its share.
        Assert.True(Admit(sources, "127.0.0.6:1").TryTakeRole(peer: true, out _));
        Assert.False(Admit(sources, "127.0.0.7:1").TryTakeRole(peer: true, out var subnet));
        Assert.Contains("subnet 127.0.0.0/24", subnet);

        a2.Dispose();
        Assert.True(Admit(sources, "127.0.0.7:2").TryTakeRole(peer: true, out _));
    }

    [Theory]
    [InlineData("127.0.0.5:47100", "127.0.0.5", "127.0.0.0/24")]
    [InlineData("[::ffff:10.1.2.3]:1", "10.1.2.3", "10.1.2.0/24")]
    [InlineData("[2001:db8:1:2:3:4:5:6]:47100", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("pipe-7", "pipe-7", "pipe-7")]
    public void ASourceIsItsIpAddressAndItsSubnetTheSlash24OrSlash64(string remote, string address, string subnet)
    {
        var source = SourceAddress.Of(remote);
        Assert.Equal(address, source.Address);
        Assert.Equal(subnet, source.Subnet);
    }

    private static ConnectionSources.SourceTicket Admit(ConnectionSources sources, string remote)
    {
        Assert.Equal(SourceVerdict.Admitted, sources.Admit(remote, out var ticket, out _));
        return ticket!;
    }

    /// <summary>Connects until refused for connecting too often; returns the ban's length from the refusal.</summary>
    private static TimeSpan Offend(ConnectionSources sources, ManualClock clock)
    {
        for (int i = 0; i < 10; i++)
        {
            var verdict = sources.Admit("127.0.0.5:1", out var ticket, out var refusal);
            ticket?.Dispose();
            if (verdict == SourceVerdict.Refused)
            {
                Assert.True(sources.IsBanned("127.0.0.5"));
                Assert.Equal(SourceVerdict.Banned, sources.Admit("127.0.0.5:2", out _, out _));
                var text = refusal[(refusal.LastIndexOf("for ", StringComparison.Ordinal) + 4)..];
                return text.EndsWith(" h", StringComparison.Ordinal)
                    ? TimeSpan.FromHours(double.Parse(text[..^2], System.Globalization.CultureInfo.InvariantCulture))
                    : TimeSpan.FromMinutes(double.Parse(text[..^4], System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        throw new InvalidOperationException("never refused");
    }
}
