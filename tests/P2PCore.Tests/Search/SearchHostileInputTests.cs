using System.Diagnostics;
using P2PTransfer.Client;
using P2PTransfer.Common;
using P2PTransfer.Identity;
using P2PTransfer.Index;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>Hostile search traffic from a linked peer is dropped and counted; the node keeps its link and serves everyone.</summary>
public class SearchHostileInputTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static RouteHop Stranger() => new(Guid.NewGuid(), "127.0.0.1:9");

    [Fact]
    public async Task Forged_overlong_looping_and_invalid_requests_are_refused_and_an_absurd_ttl_is_clamped()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        var self = new RouteHop(rawId, "127.0.0.1:1");
        var entry = Stranger();
        var all = new FileQuery();

        await raw.SendAsync(new Query(Guid.NewGuid(), 3, 10, new BacktraceStack([entry, Stranger()]), Signing.NoProof, all));
        await raw.SendAsync(new Query(Guid.NewGuid(), 3, 10, new BacktraceStack([entry, entry, self]), Signing.NoProof, all));
        await raw.SendAsync(new Query(Guid.NewGuid(), 0, 10, new BacktraceStack([.. Enumerable.Range(0, SearchLimits.MaxTtl).Select(_ => Stranger()), self]), Signing.NoProof, all));
        await raw.SendAsync(new Query(Guid.NewGuid(), 3, 10, new BacktraceStack([entry, self]), Signing.NoProof, new FileQuery { Pattern = new string('a', FileQuery.MaxPatternLength + 1) }));
        await raw.SendAsync(new Query(Guid.NewGuid(), 3, 10, new BacktraceStack([new RouteHop(node.Id, node.Endpoint), self]), Signing.NoProof, all));
        await raw.SendAsync(new Query(Guid.NewGuid(), 3, 10, new BacktraceStack([entry, new RouteHop(node.Id, node.Endpoint), self]), Signing.NoProof, all));
        var clamped = Guid.NewGuid();
        await raw.SendAsync(new Query(clamped, 200, 10, new BacktraceStack([entry, self]), Signing.NoProof, all));

        var frames = await raw.ReadFramesAsync(2, Wait);
        var hit = Assert.IsType<QueryHit>(frames.Single(f => f is QueryHit));
        Assert.Equal(clamped, hit.RequestId);
        Assert.Equal(2, hit.Remaining);
        Assert.Equal(rawId, hit.Receiver.NodeId);
        Assert.Equal("file-n0.txt", Assert.Single(hit.Files).Name);
        Assert.Equal(7, node.SearchCounters.RequestsReceived);
        Assert.Equal(6, node.SearchCounters.RequestsRefused);
        Assert.Equal(1, node.SearchCounters.RequestsClamped);
        Assert.Equal(1, node.SearchCounters.RequestsProcessed);
        Assert.Single(node.GetPeers());
        Assert.DoesNotContain(node.Log.Recent(), e => e.Level >= NodeLogLevel.Warning);
    }

    [Fact]
    public async Task A_Query_asking_for_zero_results_is_answered_as_one_asking_for_one()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        var requestId = Guid.NewGuid();

        await raw.SendAsync(new Query(requestId, 0, 0, new BacktraceStack([Stranger(), new RouteHop(rawId, "127.0.0.1:1")]), Signing.NoProof, new FileQuery()));

        // Bounded: keep-alive Pings may come first on a loaded machine.
        QueryHit? hit = null;
        for (int count = 1; count <= 20 && hit is null; count++)
        {
            hit = (await raw.ReadFramesAsync(count, Wait)).OfType<QueryHit>().SingleOrDefault();
        }

        Assert.NotNull(hit);
        Assert.Equal(requestId, hit.RequestId);
        Assert.Equal("file-n0.txt", Assert.Single(hit.Files).Name);
    }

    [Fact]
    public async Task Responses_to_unknown_requests_misaddressed_or_from_the_wrong_server_are_dropped()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        var me = new RouteHop(node.Id, node.Endpoint);
        var rawSource = Signing.Unsigned(rawId, "raw", "127.0.0.1:1");
        FoundFile[] files = [new("x", 1, new string('0', 64), "pub/x")];

        await raw.SendAsync(new QueryHit(Guid.NewGuid(), 0, 1, new BacktraceStack([me]), rawSource, files));
        await raw.SendAsync(new QueryHit(Guid.NewGuid(), 0, 1, new BacktraceStack([Stranger()]), rawSource, files));
        await raw.SendAsync(new QueryHit(Guid.NewGuid(), 0, 1, new BacktraceStack([me, Stranger()]), rawSource, files));
        using (var client = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello()))
        {
            await client.SendAsync(new QueryHit(Guid.NewGuid(), 0, 1, new BacktraceStack([me]), rawSource, files));
            await client.SendAsync(new QueryHit(Guid.NewGuid(), 0, 2, new BacktraceStack([me, Stranger()]), rawSource, files));
            Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.ResponsesReceived == 5, Wait));
        }

        // Over a client connection, only a server of the route may deliver, and this dialer said it is none.
        Assert.Equal(1, node.SearchCounters.UnknownResponses);
        Assert.Equal(4, node.SearchCounters.ResponsesRefused);
        Assert.Equal(0, node.SearchCounters.ResponsesRouted + node.SearchCounters.DirectDeliveries);
        Assert.Single(node.GetPeers());
    }

    [Fact]
    public async Task A_response_cannot_redirect_a_request_to_another_entry_server()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        var requestId = Guid.NewGuid();
        await raw.SendAsync(new Query(requestId, 0, 10, new BacktraceStack([Stranger(), new RouteHop(rawId, "127.0.0.1:1")]), Signing.NoProof, new FileQuery()));
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.RequestsProcessed == 1, Wait));

        // Addressed to the node, from its source, for a request it saw, but naming an entry server the request did not.
        var victim = new RouteHop(Guid.NewGuid(), "127.0.0.9:80");
        await raw.SendAsync(new QueryHit(requestId, 7, 2, new BacktraceStack([victim, new RouteHop(node.Id, node.Endpoint)]), Signing.Unsigned(rawId, "raw", "127.0.0.1:1"), []));

        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.ResponsesRefused == 1, Wait));
        await Task.Delay(200);
        Assert.Equal(0, node.SearchCounters.DirectDeliveries + node.SearchCounters.DirectDeliveryFailures);
    }

    [Fact]
    public async Task An_entry_server_takes_at_most_its_cap_of_files_from_one_source_and_no_empty_responses()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var key = RawConnection.NewKey();
        var rawId = key.Id;
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        Assert.True(await Eventually.TrueAsync(() => node.GetPeers().Count == 1, Wait));
        var results = new List<P2PSearchResult>();
        var search = Task.Run(async () =>
        {
            await foreach (var result in node.SearchAsync(new FileQuery(), new SearchOptions { Ttl = 1, Timeout = TimeSpan.FromSeconds(4) }))
            {
                results.Add(result);
            }
        });
        var query = (await raw.ReadFramesAsync(2, Wait)).OfType<Query>().Single();

        for (ushort batch = 0; batch < 11; batch++)
        {
            var files = Enumerable.Range(0, 500).Select(i => new FoundFile($"f{batch}-{i}", 1, new string('0', 64), $"pub/f{batch}-{i}")).ToArray();
            await raw.SendAsync(new QueryHit(query.RequestId, batch, 1, query.Backtrace, Signing.Source(key, "raw", "127.0.0.1:1", query.RequestId, batch, files), files));
        }

        await raw.SendAsync(new QueryHit(query.RequestId, 11, 1, query.Backtrace, Signing.Source(key, "raw", "127.0.0.1:1", query.RequestId, 11, []), []));
        await search;

        Assert.Equal(SearchLimits.MaxHitsPerSource, results.Count(r => r.NodeId == rawId));
        Assert.Equal((11 * 500) - SearchLimits.MaxHitsPerSource, node.SearchCounters.ResultsDropped);
        Assert.Equal(1, node.SearchCounters.ResponsesRefused);
    }

    [Fact]
    public async Task A_client_that_keeps_writing_but_never_reads_its_results_is_closed_and_its_searches_end()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        // Long names deep down long folders: about 1.3 KB a result, 6.5 MB per search, 100 MB for 16 searches: far
        // more than the socket buffers, the send queue (256 frames) and the writer's buffer together hold.
        var longName = new string('n', 200);
        var deep = Path.Combine(node.Shares[0], new string('d', 200), new string('e', 200), new string('f', 200), new string('g', 200));
        Directory.CreateDirectory(deep);
        for (int i = 0; i < 5000; i++)
        {
            File.WriteAllText(Path.Combine(deep, $"{longName}-{i:0000}.txt"), "x");
        }

        // A reconcile finds them all at once: waiting for the watcher could mean waiting for the full comparison
        // (every 60 s) when a loaded machine lets its notifications overflow while 5,000 files are written.
        await node.Index.ReconcileAsync();
        using (var indexed = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            await node.Index.WaitIdleAsync(indexed.Token);
        }

        Assert.Equal(5001, node.Index.GetFiles().Count(f => f.State == SharedFileState.Ready));
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), receiveBuffer: 4096);
        for (uint id = 1; id <= SearchLimits.MaxSearchesPerClient; id++)
        {
            await raw.SendAsync(new SearchRequest(id, 0, 30_000, 5000, new FileQuery { Names = ["n*"] }));
        }

        // It pings, so it is not silent: only its not reading can get it closed.
        bool closed = false;
        for (int tick = 0; tick < 80 && !closed; tick++)
        {
            await Task.Delay(500);
            try
            {
                await raw.SendAsync(new Ping((ulong)tick));
            }
            catch (System.Net.Sockets.SocketException)
            {
            }

            closed = node.Search.ActiveSearches == 0 && node.ConnectionCount == 1;
        }

        Assert.True(closed, $"the node should have closed the client that does not read: connections {node.ConnectionCount}, searches {node.Search.ActiveSearches}/{node.SearchCounters.SearchesStarted} started, delivered {node.SearchCounters.ResponsesDelivered}, dropped {node.SearchCounters.ResultsDropped}, work {node.Work.Active}, protocol errors {node.Counters.ProtocolErrors}, client buffered {raw.Available}, log: {string.Join(" | ", node.Log.Recent().TakeLast(6))}");
        Assert.Equal(1, node.Counters.ProtocolErrors);
        await bystander.PingAsync(Wait);
    }

    [Fact]
    public async Task A_peer_that_announced_Closing_gets_queries_again_after_Status_Available_and_Busy_counts_as_available()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        Assert.True(await Eventually.TrueAsync(() => node.GetPeers().Count == 1, Wait));

        // The Pong shows the node has read the Status frames before it.
        await raw.SendAsync(new Status(NodeAvailability.Closing));
        await raw.SendAsync(new Status(NodeAvailability.Available));
        await raw.SendAsync(new Status(NodeAvailability.Busy));
        await raw.SendAsync(new Ping(1));
        Assert.Contains(new Pong(1), await raw.ReadFramesAsync(2, Wait));
        var results = SearchNetwork.SearchAsync(node, ttl: 1, timeoutSec: 1);

        var query = (await ReadUntilQueryAsync(raw)).OfType<Query>().Single();
        Assert.Equal(node.Id, query.Backtrace.Top.NodeId);
        await results;
    }

    private static async Task<List<IMessage>> ReadUntilQueryAsync(RawConnection raw)
    {
        for (int count = 3; count <= 20; count++)
        {
            var frames = await raw.ReadFramesAsync(count, Wait);
            if (frames.Any(f => f is Query))
            {
                return frames;
            }
        }

        throw new InvalidOperationException("20 frames came and no Query among them");
    }

    public static TheoryData<string, bool, string> MalformedRouteValues() => new()
    {
        // (what, sent over a peer link (else a client connection, as a direct delivery), the field the Error names)
        { "a Query whose middle stack entry is not an endpoint", true, "backtrace entry 1" },
        { "a Query whose entry server has an empty endpoint", true, "backtrace entry 0" },
        { "a QueryHit whose source name is not a node name", true, "source name" },
        { "a QueryHit whose source has an empty endpoint", true, "source endpoint" },
        { "a QueryHit delivered directly whose source endpoint is not an endpoint", false, "source endpoint" },
        { "a Query whose middle stack entry has a zero node id", true, "backtrace entry 1 has a zero node id" },
        { "a QueryHit delivered directly whose source has a zero node id", false, "source has a zero node id" },
    };

    [Theory]
    [MemberData(nameof(MalformedRouteValues))]
    public async Task An_endpoint_node_name_or_zero_node_id_in_a_search_frame_is_a_malformed_frame(string what, bool overLink, string field)
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, overLink
            ? RawConnection.PeerHello(rawId)
            : Hello.Create(ConnectionRole.Client, rawId, "127.0.0.1:1", "raw"));
        var self = new RouteHop(rawId, "127.0.0.1:1");
        var me = new RouteHop(node.Id, node.Endpoint);
        FoundFile[] files = [new("x", 1, new string('0', 64), "pub/x")];
        IMessage frame = what switch
        {
            "a Query whose middle stack entry is not an endpoint" => new Query(Guid.NewGuid(), 1, 10, new BacktraceStack([Stranger(), new RouteHop(Guid.NewGuid(), "not an endpoint"), self]), Signing.NoProof, new FileQuery()),
            "a Query whose entry server has an empty endpoint" => new Query(Guid.NewGuid(), 1, 10, new BacktraceStack([new RouteHop(Guid.NewGuid(), ""), self]), Signing.NoProof, new FileQuery()),
            "a QueryHit whose source name is not a node name" => new QueryHit(Guid.NewGuid(), 0, 2, new BacktraceStack([Stranger(), me]), Signing.Unsigned(rawId, "bad name!", "127.0.0.1:1"), files),
            "a QueryHit whose source has an empty endpoint" => new QueryHit(Guid.NewGuid(), 0, 2, new BacktraceStack([Stranger(), me]), Signing.Unsigned(rawId, "raw", ""), files),
            "a Query whose middle stack entry has a zero node id" => new Query(Guid.NewGuid(), 1, 10, new BacktraceStack([Stranger(), new RouteHop(Guid.Empty, "127.0.0.1:9"), self]), Signing.NoProof, new FileQuery()),
            "a QueryHit delivered directly whose source has a zero node id" => new QueryHit(Guid.NewGuid(), 0, 1, new BacktraceStack([me]), Signing.Unsigned(Guid.Empty, "raw", "127.0.0.1:1"), files),
            _ => new QueryHit(Guid.NewGuid(), 0, 1, new BacktraceStack([me]), Signing.Unsigned(rawId, "raw", "not an endpoint"), files),
        };

        await raw.SendAsync(frame);
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed, $"{what}: the node should close the connection");
        var error = Assert.IsType<ErrorMessage>(messages.Last());
        Assert.True(error.Error == ProtocolError.MalformedFrame && error.Message.Contains(field, StringComparison.Ordinal), $"{what}: got {error.Error} ({error.Message})");
        Assert.Equal(0, node.SearchCounters.RequestsReceived + node.SearchCounters.ResponsesReceived);
        Assert.Empty(node.GetPeers());
    }

    [Fact]
    public async Task A_flood_of_requests_from_one_peer_is_cut_to_its_rate_and_the_node_keeps_serving()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1, o => o.QueriesPerPeerPerSecond = 50))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        var stack = new BacktraceStack([Stranger(), new RouteHop(rawId, "127.0.0.1:1")]);

        var burst = Enumerable.Range(0, 500).SelectMany(_ => FrameCodec.ToArray(new Query(Guid.NewGuid(), 0, 1, stack, Signing.NoProof, new FileQuery { Names = ["nothing-matches"] }))).ToArray();
        var reading = Stopwatch.StartNew();
        await raw.SendAsync(burst);

        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.RequestsReceived == 500, Wait));
        reading.Stop();
        // 100 in a burst, then 50 a second while the frames are read (a busy machine reads them more slowly): the rest is dropped.
        int mostLet = 100 + (int)Math.Ceiling(50 * reading.Elapsed.TotalSeconds) + 1;
        Assert.InRange(node.SearchCounters.RequestsRateLimited, Math.Max(1, Math.Min(400, 500 - mostLet)), 400);
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.RequestsProcessed == 500 - node.SearchCounters.RequestsRateLimited, Wait));
        await bystander.PingAsync(Wait);
        var results = await SearchNetwork.SearchAsync(node, ttl: 0);
        Assert.Equal("file-n0.txt", Assert.Single(results).Name);
        Assert.DoesNotContain(node.Log.Recent(), e => e.Level >= NodeLogLevel.Warning);
    }
}
