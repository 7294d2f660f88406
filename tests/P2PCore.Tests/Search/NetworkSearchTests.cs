using P2PTransfer.Identity;
using System.Diagnostics;
using P2PTransfer.Client;
using P2PTransfer.Common;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>Searches cascade through real nodes on loopback and every hit finds its way back to the entry server.</summary>
public class NetworkSearchTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public async Task A_search_along_a_line_finds_exactly_the_files_within_its_ttl(int ttl)
    {
        await using var nodes = new TestNodes();
        var line = await SearchNetwork.StartAsync(nodes, 6);
        await SearchNetwork.LinkAsync(line, SearchNetwork.Line(6));

        var results = await SearchNetwork.SearchAsync(line[0], ttl: ttl, timeoutSec: 3);

        Assert.Equal(Enumerable.Range(0, ttl + 1).Select(i => $"file-n{i}.txt"), results.OrderBy(r => r.Hops).Select(r => r.Name));
        Assert.All(results, r => Assert.Equal(int.Parse(r.NodeName[1..]), r.Hops));
        Assert.All(results, r => Assert.Equal(line[r.Hops].Endpoint, r.Endpoint));
    }

    [Fact]
    public async Task In_a_full_mesh_every_file_is_found_once_and_every_node_processes_the_request_once()
    {
        await using var nodes = new TestNodes();
        var mesh = await SearchNetwork.StartAsync(nodes, 5);
        await SearchNetwork.LinkAsync(mesh, SearchNetwork.Mesh(5));

        var results = await SearchNetwork.SearchAsync(mesh[0]);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"file-n{i}.txt"), results.Select(r => r.Name).Order());
        Assert.All(mesh, n => Assert.Equal(1, n.SearchCounters.RequestsProcessed));
        Assert.True(mesh.Sum(n => n.SearchCounters.DuplicateRequests) > 0, "copies arrived more than once");
        Assert.Equal(mesh.Sum(n => n.SearchCounters.RequestsCascaded), mesh.Sum(n => n.SearchCounters.RequestsReceived));
        // Flooding sends a request over each link at most once in each direction; a copy that came a shorter way
        // after a longer one (widened) may go out again, to at most the other 3 links of its node.
        Assert.True(mesh.Sum(n => n.SearchCounters.RequestsCascaded) <= (2 * 10) + (3 * mesh.Sum(n => n.SearchCounters.RequestsWidened)));
    }

    [Fact]
    public async Task Many_searches_at_once_through_a_mesh_each_reach_every_node_exactly_once()
    {
        await using var nodes = new TestNodes();
        var mesh = await SearchNetwork.StartAsync(nodes, 6);
        await SearchNetwork.LinkAsync(mesh, SearchNetwork.Mesh(6));

        var all = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => SearchNetwork.SearchAsync(mesh[i % 6], timeoutSec: 4)));

        Assert.All(all, results => Assert.Equal(Enumerable.Range(0, 6).Select(i => $"file-n{i}.txt"), results.Select(r => r.Name).Order()));
        Assert.Equal(24 * 6, mesh.Sum(n => n.SearchCounters.RequestsProcessed));
    }

    [Fact]
    public async Task A_response_in_flight_on_a_link_that_breaks_reaches_the_entry_server_directly()
    {
        await using var nodes = new TestNodes();
        // Keep-alive is slow to judge here: the path below holds n2's frames, pongs too, until it is cut.
        var net = await SearchNetwork.StartAsync(nodes, 3, options => options.DeadAfter = TimeSpan.FromSeconds(20));
        await SearchNetwork.LinkAsync(net, (0, 1));

        // n1 reaches n2 over a path that, once linked, holds what n2 sends: n2's response is on the way when the path is cut.
        await using var slowPath = new LatencyProxy("127.0.0.2", net[2].Endpoint, TimeSpan.FromMilliseconds(50));
        await net[1].ConnectPeerAsync(slowPath.Endpoint);
        slowPath.HoldUpstream();
        var trace = new List<string>();
        var options = new SearchOptions { Timeout = TimeSpan.FromSeconds(6), Trace = line => { lock (trace) { trace.Add(line); } } };
        var results = new List<P2PSearchResult>();

        await foreach (var result in net[0].SearchAsync(new FileQuery { Names = ["file-*"] }, options))
        {
            results.Add(result);
            if (results.Count == 2)
            {
                Assert.True(await Eventually.TrueAsync(() => net[2].SearchCounters.ResponsesRouted == 1, TimeSpan.FromSeconds(10)));
                await slowPath.DisposeAsync();
            }

            if (results.Count == 3)
            {
                break;
            }
        }

        Assert.Equal(["file-n0.txt", "file-n1.txt", "file-n2.txt"], results.Select(r => r.Name).Order());
        Assert.Equal(1, net[2].SearchCounters.DirectDeliveries);
        Assert.Equal(1, net[1].SearchCounters.ResponsesRouted); // its own response only: n2's never came through
        Assert.Contains(trace, line => line.Contains("from n2") && line.Contains("delivered directly"));
    }

    [Fact]
    public async Task A_node_that_is_closing_is_skipped_and_the_search_ends_at_its_timeout()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 3);
        await SearchNetwork.LinkAsync(net, (0, 1), (0, 2));
        var (work, stopping) = await TestNodes.BeginClosingAsync(net[1], TimeSpan.FromSeconds(10));
        Assert.True(await Eventually.TrueAsync(() => net[0].GetPeers().Any(p => p.Name == "n1" && p.State == P2PTransfer.Peers.PeerState.RemoteClosing), TimeSpan.FromSeconds(10)));

        var clock = Stopwatch.StartNew();
        var results = await SearchNetwork.SearchAsync(net[0], timeoutSec: 1);

        // It ends at its timeout, long before the closing n1 would (it drains for 10 s).
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 5);
        Assert.Equal(["file-n0.txt", "file-n2.txt"], results.Select(r => r.Name).Order());
        Assert.Equal(0, net[1].SearchCounters.RequestsReceived);
        work.Dispose();
        await stopping;
    }

    [Fact]
    public async Task A_pure_client_searches_through_a_remote_node_and_sees_results_before_the_search_ends()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 3);
        await SearchNetwork.LinkAsync(net, SearchNetwork.Line(3));
        await using var client = await NodeClient.ConnectAsync(net[1].Endpoint);

        var clock = Stopwatch.StartNew();
        double? first = null;
        var results = new List<P2PSearchResult>();
        await foreach (var result in client.SearchAsync(new FileQuery { Names = ["file-*"] }, new SearchOptions { Timeout = TimeSpan.FromSeconds(4) }))
        {
            first ??= clock.Elapsed.TotalSeconds;
            results.Add(result);
        }

        Assert.True(first < 2.5, $"the first result came after {first} s");
        Assert.InRange(clock.Elapsed.TotalSeconds, 3.9, 8.0);
        Assert.Equal(["file-n0.txt", "file-n1.txt", "file-n2.txt"], results.Select(r => r.Name).Order());
        Assert.Equal([0, 1, 1], results.Select(r => r.Hops).Order());
    }

    [Fact]
    public async Task A_client_that_stops_reading_early_cancels_the_search_on_the_server()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));
        await using var client = await NodeClient.ConnectAsync(net[0].Endpoint);

        await foreach (var result in client.SearchAsync(new FileQuery(), new SearchOptions { Timeout = TimeSpan.FromSeconds(60) }))
        {
            Assert.Equal(1, net[0].Search.ActiveSearches);
            break;
        }

        Assert.True(await Eventually.TrueAsync(() => net[0].Search.ActiveSearches == 0, TimeSpan.FromSeconds(10)));
        Assert.True(await Eventually.TrueAsync(() => net[0].Work.Active == 0, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task MaxResults_ends_a_search_as_soon_as_it_has_enough()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 4);
        await SearchNetwork.LinkAsync(net, SearchNetwork.Mesh(4));

        var clock = Stopwatch.StartNew();
        var results = await SearchNetwork.SearchAsync(net[0], timeoutSec: 30, maxResults: 2);

        Assert.Equal(2, results.Count);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(0, net[0].Search.ActiveSearches);
    }

    [Fact]
    public async Task A_response_on_its_way_to_the_reader_when_another_one_reaches_MaxResults_is_still_handed_over()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));

        // The two responses (n0's own, n1's over the link) arrive on two threads. The first is held between being
        // taken and being handed to the reader (its trace line comes in between) until the second has ended the
        // search with MaxResults: the interleaving a loaded entry server sometimes gets.
        using var ended = new ManualResetEventSlim();
        int responses = 0;
        bool heldUntilTheEnd = false;
        var options = new SearchOptions
        {
            Timeout = TimeSpan.FromSeconds(20),
            MaxResults = 2,
            Trace = line =>
            {
                if (line.Contains(" ended (MaxResults)"))
                {
                    ended.Set();
                }
                else if (line.Contains(" file(s) from ") && Interlocked.Increment(ref responses) == 1)
                {
                    heldUntilTheEnd = ended.Wait(TimeSpan.FromSeconds(15));
                }
            },
        };

        var results = new List<P2PSearchResult>();
        await foreach (var result in net[0].SearchAsync(new FileQuery { Names = ["file-*"] }, options))
        {
            results.Add(result);
        }

        Assert.True(heldUntilTheEnd, "the first response was held until the second one ended the search");
        Assert.Equal(["file-n0.txt", "file-n1.txt"], results.Select(r => r.Name).Order());
    }

    [Fact]
    public async Task A_search_that_reaches_no_other_server_ends_without_waiting_for_its_timeout()
    {
        await using var nodes = new TestNodes();
        var alone = (await SearchNetwork.StartAsync(nodes, 1))[0];

        var clock = Stopwatch.StartNew();
        var results = await SearchNetwork.SearchAsync(alone, timeoutSec: 30);

        Assert.Equal("file-n0.txt", Assert.Single(results).Name);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_search_with_no_time_ends_at_once_and_sends_nothing()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));

        var results = await SearchNetwork.SearchAsync(net[0], timeoutSec: 0);

        Assert.Empty(results);
        Assert.Equal(0, net[0].SearchCounters.RequestsCascaded);
        Assert.Equal(0, net[0].Search.ActiveSearches);
    }

    [Fact]
    public async Task A_trace_that_throws_loses_lines_but_never_the_search()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2, o => o.SearchWorkers = 1);
        await SearchNetwork.LinkAsync(net, (0, 1));
        var throwing = new SearchOptions { Timeout = TimeSpan.FromSeconds(3), Trace = _ => throw new InvalidOperationException("trace broke") };

        for (int round = 0; round < 2; round++)
        {
            var results = new List<P2PSearchResult>();
            await foreach (var result in net[0].SearchAsync(new FileQuery { Names = ["file-*"] }, throwing))
            {
                results.Add(result);
            }

            Assert.Equal(["file-n0.txt", "file-n1.txt"], results.Select(r => r.Name).Order());
        }

        Assert.Equal(0, net[0].Search.ActiveSearches);
        Assert.DoesNotContain(net[0].Log.Recent(), e => e.Level >= NodeLogLevel.Warning);
    }

    [Fact]
    public async Task A_client_that_reads_slowly_gets_every_result_and_no_timeout()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));
        await using var client = await NodeClient.ConnectAsync(net[0].Endpoint);
        var results = new List<P2PSearchResult>();

        await foreach (var result in client.SearchAsync(new FileQuery { Names = ["file-*"] }, new SearchOptions { Timeout = TimeSpan.FromSeconds(1.5) }))
        {
            results.Add(result);
            if (results.Count == 1)
            {
                // Both answers are in; then the reader dawdles longer than the search's timeout and the client's grace.
                Assert.True(await Eventually.TrueAsync(() => net[0].SearchCounters.ResponsesDelivered >= 2, TimeSpan.FromSeconds(5)));
                await Task.Delay(TimeSpan.FromSeconds(7));
            }
        }

        Assert.Equal(2, results.Count);
    }

    [Fact]
    public async Task Peers_and_clients_flooding_slow_patterns_cannot_hold_up_the_nodes_own_searches()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        // Ordinary names a careless pattern spends tens of milliseconds on each (under the 100 ms per name), so a
        // search with a local user's budget (5 s over all names) would run for seconds.
        for (int i = 0; i < 150; i++)
        {
            File.WriteAllText(Path.Combine(node.Shares[0], $"ordinary-name-number-{i:000}.txt"), "an ordinary file");
        }

        Assert.True(await Eventually.TrueAsync(() => node.Index.GetFiles().Count() == 151 && !node.Index.IsBusy, TimeSpan.FromSeconds(30)), "the index did not settle on 151 files");
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        var stack = new BacktraceStack([new RouteHop(Guid.NewGuid(), "127.0.0.1:9"), new RouteHop(rawId, "127.0.0.1:1")]);
        var slow = new FileQuery { Pattern = "^(.*)(.*)(.*)(.*)(.*)!$" };
        await raw.SendAsync([.. Enumerable.Range(0, 60).SelectMany(_ => FrameCodec.ToArray(new Query(Guid.NewGuid(), 0, 10, stack, Signing.NoProof, slow)))]);
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.RequestsReceived == 60, TimeSpan.FromSeconds(20)), $"the node received {node.SearchCounters.RequestsReceived} of the peer's 60 queries");
        // The client is another host: searches from the peer's address share its worker budget, which its flood has spent.
        using var client = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), from: "127.0.0.2");
        await client.SendAsync([.. Enumerable.Range(1, 8).SelectMany(id => FrameCodec.ToArray(new SearchRequest((uint)id, 0, 30_000, 10, slow)))]);
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.SearchesStarted == 8, TimeSpan.FromSeconds(20)), $"the node started {node.SearchCounters.SearchesStarted} of the client's 8 searches");

        var clock = Stopwatch.StartNew();
        var own = await SearchNetwork.SearchAsync(node, ttl: 0, timeoutSec: 10);

        Assert.Equal("file-n0.txt", Assert.Single(own).Name);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the node's own search took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task An_invalid_query_is_refused_before_anything_is_sent()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        await using var client = await NodeClient.ConnectAsync(node.Endpoint);
        var badPattern = new FileQuery { Pattern = "(" };

        await Assert.ThrowsAsync<ArgumentException>(() => SearchNetwork.SearchAsync(node, badPattern));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var result in client.SearchAsync(badPattern))
            {
            }
        });
        Assert.Equal(0, node.SearchCounters.SearchesStarted);
    }

    [Fact]
    public async Task A_search_from_a_client_of_a_closing_node_is_refused_with_NodeClosing()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        await using var client = await NodeClient.ConnectAsync(node.Endpoint);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var (work, stopping) = await TestNodes.BeginClosingAsync(node);

        // A client that has heard the node is closing refuses by itself; one that sends anyway is refused by the node.
        var error = await Assert.ThrowsAsync<NodeUnavailableException>(async () =>
        {
            await foreach (var result in client.SearchAsync(new FileQuery()))
            {
            }
        });
        await raw.SendAsync(new SearchRequest(1, 0, 1000, 10, new FileQuery()));
        var done = (SearchDone)(await raw.ReadFramesAsync(3, TimeSpan.FromSeconds(5))).Single(f => f is SearchDone);

        Assert.Equal(ProtocolError.NodeClosing, error.Code);
        Assert.Equal(ProtocolError.NodeClosing, done.Status);
        Assert.Equal(0, node.SearchCounters.SearchesStarted);
        work.Dispose();
        await stopping;
    }

    [Fact]
    public async Task A_search_cut_off_at_the_drain_timeout_ends_with_SearchDone_NodeClosing_before_the_Bye()
    {
        await using var nodes = new TestNodes();
        var source = (await SearchNetwork.StartAsync(nodes, 1))[0];

        // The order of the two frames was a race; it is checked over many stops.
        for (int round = 0; round < 20; round++)
        {
            var entry = await nodes.StartAsync($"entry{round}", host: 2);
            await entry.ConnectPeerAsync(source.Endpoint);
            using var raw = await RawConnection.HandshakeAsync(entry.Endpoint, RawConnection.ClientHello());
            await raw.SendAsync(new SearchRequest(7, 1, 60_000, 100, new FileQuery { Names = ["file-*"] }));

            // The source's response came back: the search is running, and it reached another server, so only its
            // timeout (a minute), a cancel or the drain timeout can end it.
            Assert.IsType<SearchResults>((await raw.ReadFramesAsync(2, TimeSpan.FromSeconds(10)))[1]);
            var stopping = entry.StopAsync(TimeSpan.FromMilliseconds(50));
            var (frames, closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(20));
            raw.Dispose();
            await stopping;

            Assert.True(closed, $"round {round}: the node did not close the connection");
            var done = frames.FindIndex(f => f is SearchDone);
            var bye = frames.FindIndex(f => f is Bye);
            Assert.True(done >= 0, $"round {round}: no SearchDone before the connection closed: {string.Join(", ", frames.Select(f => f.Code))}");
            Assert.Equal(ProtocolError.NodeClosing, ((SearchDone)frames[done]).Status);
            Assert.Equal(ProtocolError.Shutdown, ((Bye)frames[bye]).Reason);
            Assert.True(done < bye, $"round {round}: Bye came before SearchDone: {string.Join(", ", frames.Select(f => f.Code))}");
        }
    }

    [Fact]
    public async Task SearchDone_says_by_its_status_why_each_search_ended()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));
        using var raw = await RawConnection.HandshakeAsync(net[0].Endpoint, RawConnection.ClientHello());
        var all = new FileQuery { Names = ["file-*"] };

        await raw.SendAsync(new SearchRequest(1, 0, 30_000, 100, all)); // the entry server alone: Complete
        await raw.SendAsync(new SearchRequest(2, 1, 300, 100, all)); // reaches n1, wants more than there is: Timeout
        await raw.SendAsync(new SearchRequest(3, 1, 30_000, 2, all)); // both files are enough: MaxResults
        await raw.SendAsync(new SearchRequest(4, 1, 30_000, 100, all)); // cancelled once it has a result: Cancelled
        await ReadUntilAsync(raw, frames => frames.OfType<SearchResults>().Any(r => r.SearchId == 4));
        await raw.SendAsync(new SearchCancel(4));
        var frames = await ReadUntilAsync(raw, frames => frames.OfType<SearchDone>().Count() == 4);

        var done = frames.OfType<SearchDone>().ToDictionary(d => d.SearchId);
        Assert.Equal(ProtocolError.SearchComplete, done[1].Status);
        Assert.Equal(ProtocolError.SearchTimeout, done[2].Status);
        Assert.Equal(ProtocolError.SearchMaxResults, done[3].Status);
        Assert.Equal(ProtocolError.SearchCancelled, done[4].Status);
        Assert.Equal(["Complete", "Timeout", "MaxResults", "Cancelled"], done.Values.OrderBy(d => d.SearchId).Select(d => d.Message));
        Assert.Equal((1u, 1u), (done[1].Results, done[1].Sources));
        Assert.Equal((2u, 2u), (done[2].Results, done[2].Sources));
        Assert.Equal((2u, 2u), (done[3].Results, done[3].Sources));
    }

    [Fact]
    public async Task The_entry_servers_own_files_come_with_0_hops_and_a_route_of_the_entry_server_alone()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));
        using var raw = await RawConnection.HandshakeAsync(net[0].Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new SearchRequest(1, 1, 30_000, 2, new FileQuery { Names = ["file-*"] }));
        var results = (await ReadUntilAsync(raw, frames => frames.OfType<SearchDone>().Any())).OfType<SearchResults>().ToDictionary(r => r.Source.Name);

        var entryHop = new RouteHop(net[0].Id, net[0].Endpoint);
        Assert.Equal((0, false), (results["n0"].Hops, results["n0"].Direct));
        Assert.Equal([entryHop], results["n0"].Route.Hops);
        Assert.Equal((1, false), (results["n1"].Hops, results["n1"].Direct));
        Assert.Equal([entryHop], results["n1"].Route.Hops);
    }

    [Fact]
    public async Task An_entry_server_shows_a_response_that_reaches_it_over_the_link_and_directly_once()
    {
        await using var nodes = new TestNodes();
        var entry = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var key = RawConnection.NewKey();
        var peerId = key.Id;
        using var peer = await RawConnection.HandshakeAsync(entry.Endpoint, RawConnection.PeerHello(peerId));
        Assert.True(await Eventually.TrueAsync(() => entry.PeerCount == 1, TimeSpan.FromSeconds(5)));
        using var client = await RawConnection.HandshakeAsync(entry.Endpoint, RawConnection.ClientHello());

        await client.SendAsync(new SearchRequest(1, 1, 30_000, 100, new FileQuery { Names = ["file-*"] }));
        var query = (await ReadUntilAsync(peer, frames => frames.Any(f => f is Query))).OfType<Query>().Single();
        FoundFile[] files = [new FoundFile("file-raw.txt", 3, new string('A', 64), "pub/file-raw.txt")];
        var hit = new QueryHit(query.RequestId, 0, 1, query.Backtrace, Signing.Source(key, "raw", "127.0.0.1:1", query.RequestId, 0, files), files);

        // The same response over the link, again over the link, and directly (as after a link that broke).
        await peer.SendAsync(hit);
        await peer.SendAsync(hit);
        using var direct = await RawConnection.HandshakeAsync(entry.Endpoint, Hello.Create(ConnectionRole.Client, peerId, "127.0.0.1:1", "raw"));
        await direct.SendAsync(hit);
        Assert.True(await Eventually.TrueAsync(() => entry.SearchCounters.DuplicateResponses == 2, TimeSpan.FromSeconds(10)), $"{entry.SearchCounters.DuplicateResponses} duplicates seen");
        await client.SendAsync(new SearchCancel(1));
        var frames = await ReadUntilAsync(client, frames => frames.Any(f => f is SearchDone));

        Assert.Single(frames.OfType<SearchResults>(), r => r.Source.NodeId == peerId);
        var done = frames.OfType<SearchDone>().Single();
        Assert.Equal((ProtocolError.SearchCancelled, 2u, 2u), (done.Status, done.Results, done.Sources));
        Assert.Equal(1, entry.PeerCount);
    }

    [Fact]
    public async Task A_hit_list_fills_to_65536_bytes_of_file_entries_not_counting_its_count_field()
    {
        await using var nodes = new TestNodes();
        var share = Path.Combine(nodes.Root, "share-n0");
        Directory.CreateDirectory(share);

        // Every entry is 257 bytes on the wire: name (2 + 102), size 8, hash 32, path "share-n0/NAME" (2 + 111).
        // 255 entries make 65,535 bytes: under the mark without the count field, so a 256th is added; with the
        // count's 2 bytes the list would have stopped at 255.
        for (int i = 0; i < 300; i++)
        {
            File.WriteAllText(Path.Combine(share, $"long-{i:000}-".PadRight(102, 'x')), "x");
        }

        var node = await nodes.StartAsync("n0", configure: options => options.Index.Shares = [share]);
        await TestShare.IdleAsync(node.Index);
        var peerId = RawConnection.NewId();
        using var peer = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(peerId));
        var stack = new BacktraceStack([new RouteHop(Guid.NewGuid(), "127.0.0.1:9"), new RouteHop(peerId, "127.0.0.1:1")]);

        await peer.SendAsync(new Query(Guid.NewGuid(), 0, 1000, stack, Signing.NoProof, new FileQuery { Names = ["long-*"] }));
        var hits = (await ReadUntilAsync(peer, frames => frames.OfType<QueryHit>().Sum(h => h.Files.Count) == 300)).OfType<QueryHit>().ToList();

        Assert.All(hits.SelectMany(h => h.Files), f => Assert.Equal(257, f.WireLength));
        Assert.Equal([256, 44], hits.OrderBy(h => h.Batch).Select(h => h.Files.Count));
    }

    [Fact]
    public async Task A_client_whose_queue_is_full_of_search_results_still_gets_the_Pong_to_its_ping()
    {
        await using var nodes = new TestNodes();
        var share = Path.Combine(nodes.Root, "share-deep");

        // 500 files whose entries take about 4 KB each (a deep path): 16 searches for them make some 480 frames
        // of 64 KiB, far more than the socket buffers and the send queue of a client that does not read hold.
        var folder = Path.Combine([share, .. Enumerable.Range(0, 18).Select(i => $"d{i:00}".PadRight(200, 'd'))]);
        Directory.CreateDirectory(folder);
        for (int i = 0; i < 500; i++)
        {
            File.WriteAllText(Path.Combine(folder, $"long-{i:000}-".PadRight(150, 'x')), "x");
        }

        // The client answers no keep-alive ping: the dead-after time is longer than the test.
        var node = await nodes.StartAsync("n0", configure: options =>
        {
            options.Index.Shares = [share];
            options.DeadAfter = TimeSpan.FromSeconds(30);
        });
        await TestShare.IdleAsync(node.Index);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), receiveBuffer: 4096);
        var query = new FileQuery { Names = ["long-*"] };
        for (uint id = 1; id <= SearchLimits.MaxSearchesPerClient; id++)
        {
            await raw.SendAsync(new SearchRequest(id, 0, 60_000, 5000, query));
        }

        // The client reads nothing until its search results fill the send queue as far as they may; then it pings.
        var session = node.Sessions.OfType<ClientSession>().Single();
        int searchLimit = ProtocolLimits.SendQueueCapacity - SearchLimits.SendQueueHeadroom;
        Assert.True(await Eventually.TrueAsync(() => session.Connection.QueuedFrames >= searchLimit, TimeSpan.FromSeconds(30)), $"{session.Connection.QueuedFrames} frames queued");
        await raw.SendAsync(new Ping(42));

        int files = 0, searchesDone = 0;
        bool pong = false;
        ErrorMessage? error = null;
        await raw.ReadEachAsync(
            message =>
            {
                switch (message)
                {
                    case SearchResults results:
                        files += results.Files.Count;
                        break;
                    case SearchDone:
                        searchesDone++;
                        break;
                    case Pong { Nonce: 42 }:
                        pong = true;
                        break;
                    case ErrorMessage closing:
                        error = closing;
                        break;
                }

                return searchesDone < SearchLimits.MaxSearchesPerClient && error is null;
            },
            TimeSpan.FromSeconds(60));

        Assert.Null(error);
        Assert.True(pong, "the Pong arrived");
        Assert.Equal(SearchLimits.MaxSearchesPerClient, searchesDone);
        Assert.Equal(SearchLimits.MaxSearchesPerClient * 500, files);
    }

    /// <summary>Reads frames one at a time until <paramref name="enough"/> holds for all of them (bounded).</summary>
    private static async Task<List<IMessage>> ReadUntilAsync(RawConnection raw, Func<List<IMessage>, bool> enough)
    {
        for (int count = 1; count <= 200; count++)
        {
            var frames = await raw.ReadFramesAsync(count, TimeSpan.FromSeconds(10));
            if (enough(frames))
            {
                return frames;
            }
        }

        throw new InvalidOperationException("200 frames came and the expected ones were not among them");
    }

    [Fact]
    public async Task A_search_id_is_free_again_as_soon_as_its_SearchDone_arrives()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        var statuses = new List<ProtocolError>();
        for (int round = 1; round <= 20; round++)
        {
            await raw.SendAsync(new SearchRequest(1, 0, 5000, 10, new FileQuery { Names = ["file-*"] }));
            var done = (await raw.ReadFramesAsync(1 + (2 * round), TimeSpan.FromSeconds(5))).OfType<SearchDone>().Last();
            statuses.Add(done.Status);
        }

        Assert.All(statuses, status => Assert.Equal(ProtocolError.SearchComplete, status));
        Assert.Equal(20, node.SearchCounters.SearchesStarted);
    }

    [Fact]
    public async Task An_empty_name_or_an_empty_extension_is_refused_InvalidQuery()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        FileQuery[] queries = [new() { Names = [""] }, new() { Extensions = [""] }, new() { Extensions = ["."] }, new() { Extensions = ["*."] }, new() { Extensions = [" "] }];

        for (int i = 0; i < queries.Length; i++)
        {
            await raw.SendAsync(new SearchRequest((uint)i + 1, 0, 1000, 10, queries[i]));
        }

        var done = (await raw.ReadFramesAsync(1 + queries.Length, TimeSpan.FromSeconds(5))).OfType<SearchDone>().ToList();
        Assert.Equal(queries.Length, done.Count);
        Assert.All(done, d => Assert.Equal(ProtocolError.InvalidQuery, d.Status));
    }

    [Fact]
    public async Task A_client_that_pipelines_600_refused_searches_and_reads_gets_every_SearchDone_and_is_not_cut_off()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        // Written at once, far more than the 256-frame send queue holds: refused for their pattern, or for the rate once its burst is spent.
        const int Searches = 600;
        var burst = Enumerable.Range(1, Searches).SelectMany(id => FrameCodec.ToArray(new SearchRequest((uint)id, 0, 0, 1, new FileQuery { Pattern = "(" }))).ToArray();
        await raw.SendAsync(burst);
        await raw.SendAsync(new Ping(600));

        var done = new List<SearchDone>();
        IMessage? error = null;
        bool open = await raw.ReadEachAsync(
            frame =>
            {
                if (frame is SearchDone searchDone)
                {
                    done.Add(searchDone);
                }

                error ??= frame as ErrorMessage;
                return frame is not Pong && error is null;
            },
            TimeSpan.FromSeconds(30));

        Assert.True(open && error is null, $"closed after {done.Count} SearchDone: {error}");
        Assert.Equal(Enumerable.Range(1, Searches).Select(id => (uint)id), done.Select(d => d.SearchId));
        Assert.All(done, d => Assert.True(d.Status is ProtocolError.InvalidQuery or ProtocolError.TooManySearches, $"search {d.SearchId}: {d.Status}"));
        Assert.Equal(Searches, node.SearchCounters.SearchesRefused);
    }

    [Fact]
    public async Task A_client_gets_a_clear_refusal_for_a_reused_search_id_and_for_too_many_open_searches()
    {
        await using var nodes = new TestNodes();
        var net = await SearchNetwork.StartAsync(nodes, 2);
        await SearchNetwork.LinkAsync(net, (0, 1));
        using var raw = await RawConnection.HandshakeAsync(net[0].Endpoint, RawConnection.ClientHello());

        for (uint id = 1; id <= SearchLimits.MaxSearchesPerClient; id++)
        {
            await raw.SendAsync(new SearchRequest(id, 1, 30_000, 1000, new FileQuery { Names = ["nothing-matches"] }));
        }

        await raw.SendAsync(new SearchRequest(1, 1, 30_000, 1000, new FileQuery()));
        await raw.SendAsync(new SearchRequest(99, 1, 30_000, 1000, new FileQuery()));
        var refusals = (await raw.ReadFramesAsync(3, TimeSpan.FromSeconds(5))).OfType<SearchDone>().ToList();

        Assert.Equal(ProtocolError.InvalidQuery, refusals.Single(d => d.SearchId == 1).Status);
        Assert.Equal(ProtocolError.TooManySearches, refusals.Single(d => d.SearchId == 99).Status);
        Assert.Equal(SearchLimits.MaxSearchesPerClient, net[0].Search.ActiveSearches);
        Assert.Equal(2, net[0].SearchCounters.SearchesRefused);
    }
}
