using P2PTransfer.Node;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Peers;

public class PeerLinkTests
{
    [Fact]
    public async Task A_link_is_seen_from_both_ends_with_direction_and_identity()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1);
        var b = await nodes.StartAsync("b", host: 2);

        var peer = await a.ConnectPeerAsync(b.Endpoint);
        Assert.Equal(b.Id, peer.NodeId);
        Assert.Equal("b", peer.Name);
        Assert.Equal(b.Endpoint, peer.Endpoint);
        Assert.Equal(PeerDirection.Outbound, peer.Direction);

        Assert.True(await Eventually.TrueAsync(() => b.GetPeers().Count == 1, TimeSpan.FromSeconds(5)));
        var back = Assert.Single(b.GetPeers());
        Assert.Equal(a.Id, back.NodeId);
        Assert.Equal(a.Endpoint, back.Endpoint);
        Assert.Equal(PeerDirection.Inbound, back.Direction);
        Assert.Equal(PeerState.Connected, back.State);
    }

    [Fact]
    public async Task Linking_a_node_to_itself_is_refused()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("self");

        var error = await Assert.ThrowsAsync<P2PException>(() => a.ConnectPeerAsync(a.Endpoint));
        Assert.Equal(ProtocolError.SelfLink, error.Code);
        Assert.Contains("itself", error.Message);
        Assert.Empty(a.GetPeers());
    }

    [Fact]
    public async Task Linking_twice_to_the_same_node_is_refused_from_either_end()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1);
        var b = await nodes.StartAsync("b", host: 2);
        await a.ConnectPeerAsync(b.Endpoint);

        var again = await Assert.ThrowsAsync<P2PException>(() => a.ConnectPeerAsync(b.Endpoint));
        Assert.Equal(ProtocolError.DuplicateLink, again.Code);
        Assert.Contains("already linked", again.Message);

        var reverse = await Assert.ThrowsAsync<P2PException>(() => b.ConnectPeerAsync(a.Endpoint));
        Assert.Equal(ProtocolError.DuplicateLink, reverse.Code);

        // The pair stays linked by one link (by the lower-id rule it may now be the one b dialed).
        Assert.True(await Eventually.TrueAsync(() => a.GetPeers().Count == 1 && b.GetPeers().Count == 1, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Two_nodes_dialing_each_other_at_once_end_with_exactly_one_shared_link()
    {
        for (int round = 0; round < 15; round++)
        {
            await using var nodes = new TestNodes();
            var a = await nodes.StartAsync("a", host: 1);
            var b = await nodes.StartAsync("b", host: 2);

            var dials = new[] { a.ConnectPeerAsync(b.Endpoint), b.ConnectPeerAsync(a.Endpoint) };
            try
            {
                await Task.WhenAll(dials);
            }
            catch (P2PException ex) when (ex.Code == ProtocolError.DuplicateLink)
            {
                // One dial may finish before the other begins; the later one is then a plain duplicate.
            }

            Assert.True(
                await Eventually.TrueAsync(() => a.PeerCount == 1 && b.PeerCount == 1 && a.GetPeers().Count == 1 && b.GetPeers().Count == 1, TimeSpan.FromSeconds(8)),
                $"round {round}: a has {a.PeerCount}, b has {b.PeerCount} links");
            await Task.Delay(100);
            var fromA = Assert.Single(a.GetPeers());
            var fromB = Assert.Single(b.GetPeers());
            Assert.NotEqual(fromA.Direction, fromB.Direction);
            Assert.Contains(dials, d => d.IsCompletedSuccessfully);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Nodes_that_link_each_other_over_slow_paths_keep_exactly_one_link(bool firstDialerHasLowerId)
    {
        // Ids derive from keys, so the test picks which node dials first from the ids the two nodes have.
        await using var nodes = new TestNodes();
        var one = await nodes.StartAsync("one", host: 1);
        var two = await nodes.StartAsync("two", host: 2);
        var (low, high) = DuplicateLinkRule.CompareIds(one.Id, two.Id) < 0 ? (one, two) : (two, one);
        var (a, b) = firstDialerHasLowerId ? (low, high) : (high, low);
        int connectedA = 0, disconnectedA = 0;
        a.PeerConnected += (_, _) => Interlocked.Increment(ref connectedA);
        a.PeerDisconnected += (_, _) => Interlocked.Increment(ref disconnectedA);

        // b dials a over a slow path; once a has the link, a dials b over a faster one: b sees a's dial first.
        await using var slowToA = new LatencyProxy("127.0.0.3", a.Endpoint, TimeSpan.FromMilliseconds(300));
        await using var fastToB = new LatencyProxy("127.0.0.4", b.Endpoint, TimeSpan.FromMilliseconds(100));
        var fromB = b.ConnectPeerAsync(slowToA.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 1, TimeSpan.FromSeconds(5)));
        var fromA = a.ConnectPeerAsync(fastToB.Endpoint);

        // a was linked before it dialed: its dial is a duplicate. b's dial succeeds.
        Assert.Equal(ProtocolError.DuplicateLink, (await Assert.ThrowsAsync<P2PException>(() => fromA)).Code);
        await fromB;
        await Task.Delay(1500);
        Assert.True(a.PeerCount == 1 && b.PeerCount == 1, $"a has {a.PeerCount} links, b has {b.PeerCount}; " + string.Join(" | ", a.Log.Recent().Concat(b.Log.Recent())));
        Assert.NotEqual(Assert.Single(a.GetPeers()).Direction, Assert.Single(b.GetPeers()).Direction);
        Assert.Equal(connectedA - 1, disconnectedA);
        Assert.Equal(a.Counters.PeerLinksOpened - 1, a.Counters.PeerLinksClosed);
    }

    [Fact]
    public async Task A_link_can_be_made_again_right_after_a_disconnect()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1);
        var b = await nodes.StartAsync("b", host: 2);

        for (int round = 0; round < 20; round++)
        {
            await a.ConnectPeerAsync(b.Endpoint);
            Assert.True(await a.DisconnectPeerAsync(b.Id));
        }

        await a.ConnectPeerAsync(b.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => b.PeerCount == 1, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_goodbye_is_followed_by_the_end_of_the_stream_so_a_peer_that_waits_for_it_closes_at_once()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("polite");
        var peerId = RawConnection.NewId();
        var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(peerId));
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, TimeSpan.FromSeconds(10)));

        var disconnecting = node.DisconnectPeerAsync(peerId);
        var (messages, endOfStream) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(10));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        raw.Dispose();

        Assert.True(endOfStream, "the node should half-close after its goodbye");
        Assert.Equal(ProtocolError.Disconnected, Assert.IsType<Bye>(messages.Last()).Reason);
        Assert.True(await disconnecting.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"disconnect took {clock.Elapsed.TotalMilliseconds:0} ms after the peer closed");
    }

    [Fact]
    public async Task Disconnecting_drops_the_link_at_both_ends_at_once()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1, configure: TestNodes.SlowKeepAlive);
        var b = await nodes.StartAsync("b", host: 2, configure: TestNodes.SlowKeepAlive);
        await a.ConnectPeerAsync(b.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => b.PeerCount == 1, TimeSpan.FromSeconds(5)));

        Assert.True(await a.DisconnectPeerAsync(b.Id));

        Assert.Empty(a.GetPeers());

        // At once: b's keep-alive would take 60 s of silence, twice this wait, to drop the link.
        Assert.True(await Eventually.TrueAsync(() => b.PeerCount == 0, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, b.Counters.KeepAliveTimeouts);
        Assert.False(await a.DisconnectPeerAsync(b.Id));
    }

    [Fact]
    public async Task A_stopping_node_is_dropped_by_its_peers_and_they_see_it_closing_first()
    {
        await using var nodes = new TestNodes();
        var left = await nodes.StartAsync("left", host: 1);
        var middle = await nodes.StartAsync("middle", host: 2);
        var right = await nodes.StartAsync("right", host: 3);
        await middle.ConnectPeerAsync(left.Endpoint);
        await middle.ConnectPeerAsync(right.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => left.PeerCount == 1 && right.PeerCount == 1, TimeSpan.FromSeconds(5)));

        var (work, stopping) = await TestNodes.BeginClosingAsync(middle);
        Assert.True(await Eventually.TrueAsync(() => left.GetPeers().SingleOrDefault()?.State == PeerState.RemoteClosing, TimeSpan.FromSeconds(5)));

        work.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await Eventually.TrueAsync(() => left.PeerCount == 0 && right.PeerCount == 0, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, left.Counters.PeerLinksClosed);
    }

    [Fact]
    public async Task A_peer_that_vanishes_without_a_goodbye_is_dropped_at_once()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("survivor", configure: TestNodes.SlowKeepAlive);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(RawConnection.NewId()));
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, TimeSpan.FromSeconds(10)));

        raw.Abort();

        // At once: the keep-alive would take 60 s of silence, twice this wait, to drop it.
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 0, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, node.Counters.KeepAliveTimeouts);
    }

    [Fact]
    public async Task A_silent_peer_is_dropped_by_keep_alive_within_seconds()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("watcher", configure: TestNodes.FastKeepAlive);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(RawConnection.NewId(), "mute"));
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, TimeSpan.FromSeconds(10)));

        // The socket stays open but never answers a ping: a pulled cable, as the node sees it.
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 0, TimeSpan.FromSeconds(5)));
        Assert.True(await Eventually.TrueAsync(() => node.Counters.KeepAliveTimeouts == 1, TimeSpan.FromSeconds(5)));
        var (messages, _) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(3));
        Assert.Contains(messages, m => m is Ping);
        Assert.Equal(ProtocolError.KeepAliveTimeout, Assert.IsType<ErrorMessage>(messages.Last()).Error);
    }

    [Fact]
    public async Task A_quiet_but_healthy_link_stays_up_on_keep_alive()
    {
        await using var nodes = new TestNodes();
        // Pings every 300 ms, dead after 3 s: a pause of a busy machine is not a dead link, and the wait below still
        // spans more than two dead-after times, so a keep-alive that failed to keep the link would show.
        static void KeepAlive(NodeOptions options)
        {
            options.KeepAliveInterval = TimeSpan.FromMilliseconds(300);
            options.DeadAfter = TimeSpan.FromSeconds(3);
        }

        var a = await nodes.StartAsync("a", host: 1, KeepAlive);
        var b = await nodes.StartAsync("b", host: 2, KeepAlive);
        await a.ConnectPeerAsync(b.Endpoint);

        await Task.Delay(TimeSpan.FromSeconds(7));
        Assert.True(a.PeerCount == 1, string.Join(Environment.NewLine, a.Log.Recent().Concat(b.Log.Recent())));
        var peer = Assert.Single(a.GetPeers());
        Assert.NotNull(peer.RoundTripMs);
        Assert.True(peer.FramesReceived > 2);
        Assert.Equal(0, a.Counters.KeepAliveTimeouts);
        Assert.Equal(0, b.Counters.KeepAliveTimeouts);
    }
}
