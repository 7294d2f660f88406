using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>A Query from a linked server with path wildcards: answered with the files below that path, or dropped when its path breaks the query rules.</summary>
public class PathQueryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_query_over_a_link_is_answered_by_path_and_one_with_a_path_that_names_nothing_is_dropped_keeping_the_link()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        var rawId = RawConnection.NewId();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawId));
        var stack = new BacktraceStack([new RouteHop(Guid.NewGuid(), "127.0.0.1:9"), new RouteHop(rawId, "127.0.0.1:1")]);
        var answered = Guid.NewGuid();

        await raw.SendAsync(new Query(Guid.NewGuid(), 0, 10, stack, Signing.NoProof, new FileQuery { Paths = ["/"] }));
        await raw.SendAsync(new Query(Guid.NewGuid(), 0, 10, stack, Signing.NoProof, new FileQuery { Paths = ["share-n0/[x"] }));
        await raw.SendAsync(new Query(Guid.NewGuid(), 0, 10, stack, Signing.NoProof, new FileQuery { Paths = ["other/*"] }));
        await raw.SendAsync(new Query(answered, 0, 10, stack, Signing.NoProof, new FileQuery { Paths = ["SHARE-N0/*"] }));

        // The node's first frame on a new link, then the one response: the queries before it found nothing or were dropped.
        var frames = await raw.ReadFramesAsync(2, Wait);
        var hit = Assert.IsType<QueryHit>(frames.Single(f => f is QueryHit));
        Assert.Equal(answered, hit.RequestId);
        Assert.Equal("share-n0/file-n0.txt", Assert.Single(hit.Files).RelativePath);
        Assert.Equal(4, node.SearchCounters.RequestsReceived);
        Assert.Equal(2, node.SearchCounters.RequestsRefused);
        Assert.Single(node.GetPeers());
    }
}
