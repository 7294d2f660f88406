using P2PTransfer.Client;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>
/// Expensive requests cannot silence a node's search: a peer's requests are charged the workers' time they take (per
/// link and per remote address), clients' searches have a queue and a worker of their own, and a request whose pattern
/// is expensive stops at the first server it is expensive at. The hostile peer connects from 127.0.0.x addresses of
/// its own; the bystander client from 127.0.0.1.
/// </summary>
public sealed class SearchBudgetTests
{
    /// <summary>A pattern that backtracks without end on any name without '#': each name runs into the 100 ms match timeout.</summary>
    private static readonly FileQuery Catastrophic = new() { Pattern = "((((((((.*)*)*)*)*)*)*)*)#" };

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ABystanderClientsSearchIsAnsweredWhileARegexFloodFromAPeerIsStillQueued()
    {
        await using var nodes = new TestNodes();
        // No worker-time budget here: the flood stays queued, so only the clients' own queue can let the bystander through.
        var node = (await SearchNetwork.StartAsync(nodes, 1, o =>
        {
            o.WorkPerPeerPerSecond = TimeSpan.FromHours(1);
            o.WorkPerAddressPerSecond = TimeSpan.FromHours(1);
        }))[0];
        var hostileId = RawConnection.NewId();
        using var hostile = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(hostileId, "flood"), from: "127.0.0.16");
        await SendFloodAsync(hostile, hostileId, 300);
        // Each of these takes at least 100 ms of a cascade worker: 300 keep the peers' workers busy for 15 s at least.
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.RequestsReceived == 300, Wait));

        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        var results = new List<P2PSearchResult>();
        await foreach (var result in bystander.SearchAsync(new FileQuery { Names = ["file-*"] }, new SearchOptions { Ttl = 0, Timeout = Wait, MaxResults = 1 }))
        {
            results.Add(result);
        }

        // Answered while the flood was still being worked through: it did not wait behind it.
        long floodAnswered = node.SearchCounters.RequestsProcessed - 1;
        Assert.Equal("file-n0.txt", Assert.Single(results).Name);
        Assert.True(floodAnswered < 300, $"the bystander waited until {floodAnswered} of the flood's 300 requests were answered");
    }

    [Fact]
    public async Task APeerWhoseRequestsTakeTooMuchWorkerTimeHasTheRestOfItsFloodDropped()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var hostileId = RawConnection.NewId();
        using var hostile = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(hostileId, "flood"), from: "127.0.0.17");
        await SendFloodAsync(hostile, hostileId, 200);

        var counters = node.SearchCounters;
        Assert.True(await Eventually.TrueAsync(() => counters.RequestsProcessed + counters.RequestsOverBudget == 200, Wait));

        // The link's budget is 1 s in a burst, 250 ms a second after that: about ten requests of 100 ms, not 200.
        Assert.True(counters.RequestsProcessed <= 40, $"{counters.RequestsProcessed} of the flood's requests were answered");
        Assert.True(counters.RequestsOverBudget >= 160, $"{counters.RequestsOverBudget} dropped over budget");

        // A bystander client, from another address, is still served.
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        var results = new List<P2PSearchResult>();
        await foreach (var result in bystander.SearchAsync(new FileQuery { Names = ["file-*"] }, new SearchOptions { Ttl = 0, Timeout = Wait, MaxResults = 1 }))
        {
            results.Add(result);
        }

        Assert.Single(results);
    }

    [Fact]
    public async Task LinksFromOneAddressUnderMadeUpIdsShareOneWorkerTimeBudget()
    {
        await using var nodes = new TestNodes();
        // Each link alone may take 4 s in a burst; the address, all its links together, 0.4 s.
        var node = (await SearchNetwork.StartAsync(nodes, 1, o =>
        {
            o.WorkPerPeerPerSecond = TimeSpan.FromSeconds(1);
            o.WorkPerAddressPerSecond = TimeSpan.FromMilliseconds(100);
        }))[0];
        var sybils = new List<RawConnection>();
        var ids = Enumerable.Range(0, 4).Select(_ => RawConnection.NewId()).ToArray();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                sybils.Add(await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(ids[i], $"sybil{i}"), from: "127.0.0.18"));
            }

            for (int i = 0; i < 4; i++)
            {
                await SendFloodAsync(sybils[i], ids[i], 25);
            }

            var counters = node.SearchCounters;
            Assert.True(await Eventually.TrueAsync(() => counters.RequestsProcessed + counters.RequestsOverBudget == 100, Wait));

            // One budget of 0.4 s (plus 0.1 s a second): a handful of 100 ms requests in all, not 40 a link.
            Assert.True(counters.RequestsProcessed <= 12, $"{counters.RequestsProcessed} of the 100 requests of four links from one address were answered");
        }
        finally
        {
            sybils.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task ARequestWhosePatternIsExpensiveIsAnsweredButNotSentOnWhileACheapPatternIs()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));
        var (entry, next) = (net[0], net[1]);
        var hostileId = RawConnection.NewId();
        using var hostile = await RawConnection.HandshakeAsync(entry.Endpoint, RawConnection.PeerHello(hostileId, "hostile"), from: "127.0.0.19");
        var stack = BacktraceStack.Start(new RouteHop(hostileId, "127.0.0.1:1"));
        await hostile.SendAsync(new Query(Guid.NewGuid(), 3, 10, stack, Signing.NoProof, Catastrophic));
        await hostile.SendAsync(new Query(Guid.NewGuid(), 3, 10, stack, Signing.NoProof, new FileQuery { Pattern = "^file-" }));

        var counters = entry.SearchCounters;
        Assert.True(await Eventually.TrueAsync(() => counters.RequestsProcessed == 2 && counters.RequestsCascaded + counters.RequestsNotForwarded == 2, Wait));
        Assert.Equal(1, counters.RequestsNotForwarded);
        Assert.Equal(1, counters.RequestsCascaded);
        Assert.True(await Eventually.TrueAsync(() => next.SearchCounters.RequestsProcessed == 1, Wait));
        Assert.Equal(1, next.SearchCounters.RequestsReceived);
    }

    [Fact]
    public async Task AClientAddressWhoseSearchesTookTooMuchWorkerTimeIsRefusedNodeBusyWhileOtherAddressesAreServed()
    {
        await using var nodes = new TestNodes();
        // 10 ms a second, 40 ms in a burst: one search that costs 100 ms puts the address in debt for seconds.
        var node = (await SearchNetwork.StartAsync(nodes, 1, o => o.WorkPerAddressPerSecond = TimeSpan.FromMilliseconds(10)))[0];
        using var hostile = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), from: "127.0.0.20");

        await hostile.SendAsync(new SearchRequest(1, 0, 30_000, 10, Catastrophic));
        var first = Assert.IsType<SearchDone>((await hostile.ReadFramesAsync(2, Wait))[1]);
        Assert.Equal(ProtocolError.SearchComplete, first.Status);

        await hostile.SendAsync(new SearchRequest(2, 0, 30_000, 10, new FileQuery { Names = ["file-*"] }));
        var second = Assert.IsType<SearchDone>((await hostile.ReadFramesAsync(3, Wait))[2]);
        Assert.Equal(ProtocolError.NodeBusy, second.Status);
        Assert.Contains("127.0.0.20", second.Message);

        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        var results = new List<P2PSearchResult>();
        await foreach (var result in bystander.SearchAsync(new FileQuery { Names = ["file-*"] }, new SearchOptions { Ttl = 0, Timeout = Wait }))
        {
            results.Add(result);
        }

        Assert.Single(results);
    }

    [Fact]
    public async Task APeerThatAsksFasterThanItReadsHasItsRequestsDroppedOnceItsLinkHoldsAMebibyteOfAnswers()
    {
        await using var nodes = new TestNodes();
        var folder = Path.Combine(nodes.Root, "many");
        Directory.CreateDirectory(folder);
        // Long names: each answer is one frame of about 50 KiB.
        for (int i = 0; i < 300; i++)
        {
            File.WriteAllText(Path.Combine(folder, $"file-{i:D4}-{new string('x', 100)}.txt"), $"file {i}");
        }

        // No worker-time budget here: only the bytes waiting on the link may stop its requests.
        var node = await nodes.StartAsync("n0", 1, o =>
        {
            o.Index.Shares = [folder];
            o.WorkPerPeerPerSecond = TimeSpan.FromHours(1);
            o.WorkPerAddressPerSecond = TimeSpan.FromHours(1);
        });
        await TestShare.IdleAsync(node.Index);
        var peerId = RawConnection.NewId();
        // It never reads, and its socket takes little: what the node sends it waits in the node's send queue.
        using var peer = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(peerId, "reads-nothing"), receiveBuffer: 4096, from: "127.0.0.22");
        var self = new RouteHop(peerId, "127.0.0.1:1");
        var counters = node.SearchCounters;
        int sent = 0;
        // Rounds of 100 Queries for every file until the node says the link is backlogged: about 5 MiB of answers a round.
        for (int round = 0; round < 20 && counters.BackloggedLinkDrops == 0; round++)
        {
            var frames = new List<byte>();
            for (int i = 0; i < 100; i++)
            {
                frames.AddRange(FrameCodec.ToArray(new Query(Guid.NewGuid(), 0, 5000, BacktraceStack.Start(self), Signing.NoProof, new FileQuery { Names = ["*"] })));
            }

            await peer.SendAsync([.. frames]);
            sent += 100;
            Assert.True(await Eventually.TrueAsync(() => counters.RequestsProcessed + counters.BackloggedLinkDrops >= sent, Wait));
        }

        // Once its link held a mebibyte, the rest of its requests went unanswered, not into memory.
        Assert.True(counters.BackloggedLinkDrops > 0, $"{counters.RequestsProcessed} of {sent} requests answered");
        Assert.True(counters.RequestsProcessed < sent, $"{counters.RequestsProcessed} of {sent} requests answered");

        // A client, from another address, is still served.
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        var results = new List<P2PSearchResult>();
        await foreach (var result in bystander.SearchAsync(new FileQuery { Names = ["file-0001-*"] }, new SearchOptions { Ttl = 0, Timeout = Wait }))
        {
            results.Add(result);
        }

        Assert.Single(results);
    }

    /// <summary>Writes <paramref name="count"/> Queries with the catastrophic pattern in one go, as from the link's own server.</summary>
    private static async Task SendFloodAsync(RawConnection link, Guid linkId, int count)
    {
        var self = new RouteHop(linkId, "127.0.0.1:1");
        var frames = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            frames.AddRange(FrameCodec.ToArray(new Query(Guid.NewGuid(), 0, 10, BacktraceStack.Start(self), Signing.NoProof, Catastrophic)));
        }

        await link.SendAsync([.. frames]);
    }
}
