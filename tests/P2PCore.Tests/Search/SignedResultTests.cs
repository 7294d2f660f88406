using P2PTransfer.Identity;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>
/// Responses are signed by their source and the entry server takes only those whose signature holds: a peer on the
/// way can neither answer as another node nor alter its files, and a forged copy never stands for the genuine one.
/// </summary>
public class SignedResultTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private const string GenuineEndpoint = "127.0.0.8:4000";
    private static readonly FoundFile[] GenuineFiles = [new("file-k.txt", 11, new string('B', 64), "pub/file-k.txt")];

    /// <summary>Starts a search at <paramref name="entry"/> that ends at its first result, and returns the Query once every peer holds it.</summary>
    private static async Task<(Query Query, Task<List<P2PSearchResult>> Results)> StartSearchAsync(P2PNode entry, params RawConnection[] peers)
    {
        var results = Task.Run(() => SearchNetwork.SearchAsync(entry, new FileQuery { Names = ["file-k*"] }, ttl: 1, timeoutSec: 20, maxResults: 1));
        Query? query = null;
        foreach (var peer in peers)
        {
            Query? found = null;

            // Bounded: keep-alive Pings may come first on a loaded machine.
            for (int count = 1; count <= 20 && found is null; count++)
            {
                found = (await peer.ReadFramesAsync(count, Wait)).OfType<Query>().FirstOrDefault();
            }

            query = found ?? throw new InvalidOperationException("the search's Query did not reach a linked peer");
        }

        return (query!, results);
    }

    private static async Task<RawConnection> LinkAsync(P2PNode node, Guid id, int peers)
    {
        var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(id));
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == peers, Wait));
        return raw;
    }

    [Fact]
    public async Task A_peer_answering_as_another_node_is_dropped_and_the_genuine_nodes_result_is_still_shown()
    {
        await using var nodes = new TestNodes();
        var entry = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var genuineKey = RawConnection.NewKey();
        var hostileKey = RawConnection.NewKey();
        using var hostile = await LinkAsync(entry, hostileKey.Id, 1);
        using var genuine = await LinkAsync(entry, genuineKey.Id, 2);
        var (query, results) = await StartSearchAsync(entry, hostile, genuine);
        var entryHop = query.Backtrace.Entry;

        // The hostile peer answers first, as the genuine node (its id and name) with its own endpoint, claiming the
        // genuine node answered through it; it signs with the only key it has.
        var forged = new SourceSigner(hostileKey, "genuine", "127.0.0.9:4000").Sign(query.RequestId, 0, GenuineFiles) with { NodeId = genuineKey.Id };
        await hostile.SendAsync(new QueryHit(query.RequestId, 0, 1, new BacktraceStack([entryHop, new RouteHop(hostileKey.Id, "127.0.0.1:1")]), forged, GenuineFiles));
        Assert.True(await Eventually.TrueAsync(() => entry.SearchCounters.ResponsesReceived == 1, Wait));

        await genuine.SendAsync(new QueryHit(query.RequestId, 0, 1, query.Backtrace, Signing.Source(genuineKey, "genuine", GenuineEndpoint, query.RequestId, 0, GenuineFiles), GenuineFiles));
        var result = Assert.Single(await results);

        Assert.Equal((genuineKey.Id, GenuineEndpoint), (result.NodeId, result.Endpoint));
        Assert.Equal(1, entry.SearchCounters.ResponsesUnverified);
        Assert.Equal(0, entry.SearchCounters.DuplicateResponses);
        Assert.Equal(2, entry.PeerCount);
    }

    [Fact]
    public async Task A_response_whose_hit_list_was_altered_after_signing_is_dropped_and_the_unaltered_one_is_taken()
    {
        await using var nodes = new TestNodes();
        var entry = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var key = RawConnection.NewKey();
        using var peer = await LinkAsync(entry, key.Id, 1);
        var (query, results) = await StartSearchAsync(entry, peer);
        var source = Signing.Source(key, "genuine", GenuineEndpoint, query.RequestId, 0, GenuineFiles);
        FoundFile[] altered = [GenuineFiles[0] with { Size = 12 }];

        await peer.SendAsync(new QueryHit(query.RequestId, 0, 1, query.Backtrace, source, altered));
        Assert.True(await Eventually.TrueAsync(() => entry.SearchCounters.ResponsesUnverified == 1, Wait));
        await peer.SendAsync(new QueryHit(query.RequestId, 0, 1, query.Backtrace, source, GenuineFiles));
        var result = Assert.Single(await results);

        Assert.Equal((11L, GenuineEndpoint), (result.Size, result.Endpoint));
        Assert.Equal(0, entry.SearchCounters.DuplicateResponses);
    }

    [Fact]
    public async Task A_response_signed_for_another_request_or_batch_is_dropped()
    {
        await using var nodes = new TestNodes();
        var entry = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var key = RawConnection.NewKey();
        using var peer = await LinkAsync(entry, key.Id, 1);
        var (query, results) = await StartSearchAsync(entry, peer);

        await peer.SendAsync(new QueryHit(query.RequestId, 0, 1, query.Backtrace, Signing.Source(key, "genuine", GenuineEndpoint, Guid.NewGuid(), 0, GenuineFiles), GenuineFiles));
        await peer.SendAsync(new QueryHit(query.RequestId, 0, 1, query.Backtrace, Signing.Source(key, "genuine", GenuineEndpoint, query.RequestId, 1, GenuineFiles), GenuineFiles));
        await peer.SendAsync(new QueryHit(query.RequestId, 0, 1, query.Backtrace, Signing.Unsigned(key.Id, "genuine", GenuineEndpoint), GenuineFiles));
        Assert.True(await Eventually.TrueAsync(() => entry.SearchCounters.ResponsesUnverified == 3, Wait));
        await peer.SendAsync(new QueryHit(query.RequestId, 0, 1, query.Backtrace, Signing.Source(key, "genuine", GenuineEndpoint, query.RequestId, 0, GenuineFiles), GenuineFiles));

        Assert.Equal(GenuineEndpoint, Assert.Single(await results).Endpoint);
    }

    [Fact]
    public async Task A_forged_copy_routed_first_through_a_server_on_the_way_does_not_make_it_drop_the_genuine_response()
    {
        await using var nodes = new TestNodes();
        var started = await SearchNetwork.StartAsync(nodes, 2);
        var (entry, middle) = (started[0], started[1]);
        await SearchNetwork.LinkAsync(started, (0, 1));
        var genuineKey = RawConnection.NewKey();
        var hostileKey = RawConnection.NewKey();
        using var hostile = await LinkAsync(middle, hostileKey.Id, 2);
        using var genuine = await LinkAsync(middle, genuineKey.Id, 3);
        var results = Task.Run(() => SearchNetwork.SearchAsync(entry, new FileQuery { Names = ["file-k*"] }, ttl: 2, timeoutSec: 20, maxResults: 1));
        Query? query = null;
        foreach (var peer in new[] { hostile, genuine })
        {
            query = null;
            for (int count = 1; count <= 20 && query is null; count++)
            {
                query = (await peer.ReadFramesAsync(count, Wait)).OfType<Query>().FirstOrDefault();
            }

            Assert.NotNull(query);
        }

        // The hostile peer claims the genuine node answered through it; the middle server passes it on unchecked.
        var forged = new SourceSigner(hostileKey, "genuine", "127.0.0.9:4000").Sign(query!.RequestId, 0, GenuineFiles) with { NodeId = genuineKey.Id };
        await hostile.SendAsync(new QueryHit(query.RequestId, 0, 2, query.Backtrace.Push(new RouteHop(hostileKey.Id, "127.0.0.1:1")), forged, GenuineFiles));
        Assert.True(await Eventually.TrueAsync(() => entry.SearchCounters.ResponsesUnverified == 1, Wait));

        await genuine.SendAsync(new QueryHit(query.RequestId, 0, 2, query.Backtrace, Signing.Source(genuineKey, "genuine", GenuineEndpoint, query.RequestId, 0, GenuineFiles), GenuineFiles));
        var result = Assert.Single(await results);

        Assert.Equal((genuineKey.Id, GenuineEndpoint), (result.NodeId, result.Endpoint));
        Assert.Equal(2, middle.SearchCounters.ResponsesRouted);
        Assert.Equal(0, middle.SearchCounters.DuplicateResponses);
    }
}
