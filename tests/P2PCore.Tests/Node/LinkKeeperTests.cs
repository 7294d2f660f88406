using System.Net;
using System.Net.Sockets;
using P2PTransfer.Node;
using P2PTransfer.Tests.Support;
using Xunit;

namespace P2PTransfer.Tests.Node;

public sealed class LinkKeeperTests
{
    // The keeper's own rounds are left far apart; a test runs a round when it wants one (CheckLinksAsync).
    private static void ManualRounds(NodeOptions options)
    {
        options.LinkCheckInterval = TimeSpan.FromHours(1);
        options.TargetPeers = 8;
    }

    [Fact]
    public async Task A_node_started_again_from_its_state_directory_links_again_to_the_peers_it_had()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1, ManualRounds);
        var b = await nodes.StartAsync("b", host: 2, ManualRounds);
        await b.ConnectPeerAsync(a.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 1, TimeSpan.FromSeconds(10)));

        await b.StopAsync(TimeSpan.Zero);
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 0, TimeSpan.FromSeconds(10)));
        var again = await nodes.StartAsync("b", host: 2, ManualRounds);
        Assert.Equal(0, again.PeerCount);

        await again.CheckLinksAsync();
        Assert.Equal(a.Id, Assert.Single(again.GetPeers()).NodeId);
    }

    [Fact]
    public async Task A_peer_that_could_not_be_reached_at_start_is_linked_once_it_is_up()
    {
        await using var nodes = new TestNodes();
        int port = FreePort("127.0.0.3");
        var a = await nodes.StartAsync("a", host: 1, options => { ManualRounds(options); options.Peers = [$"127.0.0.3:{port}"]; });
        await a.CheckLinksAsync();
        Assert.Equal(0, a.PeerCount);

        var b = await nodes.StartAsync("b", host: 3, options => { ManualRounds(options); options.Port = port; });
        // The failed dial made the host wait 5 s: the next round that is due links it.
        Assert.True(await Eventually.TrueAsync(() => { a.CheckLinksAsync().GetAwaiter().GetResult(); return a.PeerCount == 1; }, TimeSpan.FromSeconds(30)));
        Assert.Equal(b.Id, Assert.Single(a.GetPeers()).NodeId);
    }

    [Fact]
    public async Task A_link_closed_on_purpose_by_either_side_is_not_dialed_again()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1, ManualRounds);
        var b = await nodes.StartAsync("b", host: 2, ManualRounds);
        var c = await nodes.StartAsync("c", host: 3, ManualRounds);
        await a.ConnectPeerAsync(b.Endpoint);
        await a.ConnectPeerAsync(c.Endpoint);

        Assert.True(await a.DisconnectPeerAsync(b.Id));
        Assert.True(await c.DisconnectPeerAsync(a.Id));
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 0, TimeSpan.FromSeconds(10)));

        await a.CheckLinksAsync();
        await b.CheckLinksAsync();
        await c.CheckLinksAsync();
        Assert.Equal((0, 0, 0), (a.PeerCount, b.PeerCount, c.PeerCount));
    }

    [Fact]
    public async Task A_link_that_broke_is_made_again_by_the_next_round()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1, ManualRounds);
        var b = await nodes.StartAsync("b", host: 2, ManualRounds);
        var path = new LatencyProxy("127.0.0.3", b.Endpoint, TimeSpan.Zero);
        await a.ConnectPeerAsync(path.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => b.PeerCount == 1, TimeSpan.FromSeconds(10)));

        // The link breaks without a goodbye: the path between the two is cut.
        await path.DisposeAsync();
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 0 && b.PeerCount == 0, TimeSpan.FromSeconds(30)));

        await a.CheckLinksAsync();
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 1 && b.PeerCount == 1, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task With_a_target_of_0_a_node_keeps_only_its_configured_peers()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1, options => { ManualRounds(options); options.TargetPeers = 0; });
        var b = await nodes.StartAsync("b", host: 2, ManualRounds);
        await a.ConnectPeerAsync(b.Endpoint);
        await b.StopAsync(TimeSpan.Zero);
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 0, TimeSpan.FromSeconds(10)));
        var again = await nodes.StartAsync("b", host: 2, options => { ManualRounds(options); options.TargetPeers = 0; });

        await a.CheckLinksAsync();
        await again.CheckLinksAsync();
        Assert.Equal((0, 0), (a.PeerCount, again.PeerCount));
    }

    [Fact]
    public async Task In_a_line_a_b_c_where_b_dies_a_and_c_link_through_what_b_told_them()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1, ManualRounds);
        var b = await nodes.StartAsync("b", host: 2, ManualRounds);
        var c = await nodes.StartAsync("c", host: 3, ManualRounds);
        await a.ConnectPeerAsync(b.Endpoint);
        await c.ConnectPeerAsync(b.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => b.PeerCount == 2, TimeSpan.FromSeconds(10)));

        // b's round tells a of c and c of a (peer exchange); a and c take it in as they read it.
        await b.CheckLinksAsync();
        Assert.True(await Eventually.TrueAsync(() => a.KnownHostCount == 2 && c.KnownHostCount == 2, TimeSpan.FromSeconds(10)));

        await b.StopAsync(TimeSpan.Zero);
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 0 && c.PeerCount == 0, TimeSpan.FromSeconds(10)));
        await a.CheckLinksAsync();
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 1 && c.PeerCount == 1, TimeSpan.FromSeconds(10)));
        Assert.Equal(c.Id, Assert.Single(a.GetPeers()).NodeId);
    }

    private static int FreePort(string address)
    {
        using var listener = new TcpListener(IPAddress.Parse(address), 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
