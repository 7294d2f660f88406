using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>
/// What a server refuses in a QueryHit: a response claiming a receiver, sender, route or entry server it cannot
/// have (protocol.md section 14, "Receiving a QueryHit"), over a link and delivered directly.
/// </summary>
public class ResponseValidatorTests
{
    // The request went a > b > c and c answered: c sends to b (remaining 2), b to a (remaining 1).
    private static readonly RouteHop A = Hop(1);
    private static readonly RouteHop B = Hop(2);
    private static readonly SourceNode C = Signing.Unsigned(Id(3), "c", "127.0.0.3:47100");
    private static readonly SourceNode Stranger = Signing.Unsigned(Id(7), "x", "127.0.0.7:47100");

    [Fact]
    public void A_response_addressed_to_this_node_from_the_next_server_of_its_route_is_taken()
    {
        Assert.True(ResponseValidator.IsValidOverLink(Hit(2), B.NodeId, C.NodeId));
        Assert.True(ResponseValidator.IsValidOverLink(Hit(1), A.NodeId, B.NodeId));
    }

    [Fact]
    public void A_response_addressed_to_another_server_is_refused()
    {
        Assert.False(ResponseValidator.IsValidOverLink(Hit(2), A.NodeId, C.NodeId));
        Assert.False(ResponseValidator.IsValidOverLink(Hit(1), B.NodeId, B.NodeId));
    }

    [Fact]
    public void A_response_sent_by_a_server_that_is_not_next_on_its_way_back_is_refused()
    {
        // From the source, b's hit must come from c; at a, from b, not from the source skipping b.
        Assert.Equal(C.NodeId, ResponseValidator.ExpectedSender(Hit(2)));
        Assert.Equal(B.NodeId, ResponseValidator.ExpectedSender(Hit(1)));
        Assert.False(ResponseValidator.IsValidOverLink(Hit(2), B.NodeId, Stranger.NodeId));
        Assert.False(ResponseValidator.IsValidOverLink(Hit(1), A.NodeId, C.NodeId));
    }

    [Fact]
    public void A_response_whose_stack_names_a_server_twice_is_refused_over_a_link_and_directly()
    {
        var looped = new QueryHit(Guid.NewGuid(), 0, 2, new BacktraceStack([A, B, A]), C, Files(1));
        Assert.False(ResponseValidator.IsValidOverLink(looped, B.NodeId, A.NodeId));
        Assert.False(ResponseValidator.IsValidDirect(looped with { Remaining = 1 }, A.NodeId, C.NodeId));
    }

    [Fact]
    public void A_response_whose_stack_is_deeper_than_the_largest_ttl_is_refused_and_one_as_deep_is_taken()
    {
        var seven = new BacktraceStack([.. Enumerable.Range(1, SearchLimits.MaxTtl).Select(Hop)]);
        var eight = new BacktraceStack([.. Enumerable.Range(1, SearchLimits.MaxTtl + 1).Select(Hop)]);

        Assert.True(ResponseValidator.IsValidOverLink(new QueryHit(Guid.NewGuid(), 0, 7, seven, Stranger with { NodeId = Id(20) }, Files(1)), Id(7), Id(20)));
        Assert.False(ResponseValidator.IsValidOverLink(new QueryHit(Guid.NewGuid(), 0, 8, eight, Stranger with { NodeId = Id(20) }, Files(1)), Id(8), Id(20)));
        Assert.True(ResponseValidator.IsValidDirect(new QueryHit(Guid.NewGuid(), 0, 1, seven, Stranger with { NodeId = Id(20) }, Files(1)), Id(1), Id(20)));
        Assert.False(ResponseValidator.IsValidDirect(new QueryHit(Guid.NewGuid(), 0, 1, eight, Stranger with { NodeId = Id(20) }, Files(1)), Id(1), Id(20)));
    }

    [Fact]
    public void A_response_without_files_is_refused_over_a_link_and_directly()
    {
        Assert.False(ResponseValidator.IsValidOverLink(Hit(2) with { Files = [] }, B.NodeId, C.NodeId));
        Assert.False(ResponseValidator.IsValidDirect(Hit(1) with { Files = [] }, A.NodeId, C.NodeId));
    }

    [Fact]
    public void A_response_must_name_the_entry_server_its_request_named_by_id_and_endpoint()
    {
        Assert.True(ResponseValidator.NamesEntry(Hit(1), A));
        Assert.False(ResponseValidator.NamesEntry(Hit(1), B));
        Assert.False(ResponseValidator.NamesEntry(Hit(1), A with { Endpoint = "127.0.0.7:47100" }));
    }

    [Fact]
    public void A_direct_delivery_is_taken_from_the_source_or_a_server_of_the_route_to_this_entry_server_only()
    {
        Assert.True(ResponseValidator.IsValidDirect(Hit(1), A.NodeId, C.NodeId));
        Assert.True(ResponseValidator.IsValidDirect(Hit(1), A.NodeId, B.NodeId));
        Assert.False(ResponseValidator.IsValidDirect(Hit(1), A.NodeId, Stranger.NodeId));
        Assert.False(ResponseValidator.IsValidDirect(Hit(1), A.NodeId, Guid.Empty));
        Assert.False(ResponseValidator.IsValidDirect(Hit(1), B.NodeId, C.NodeId));
        Assert.False(ResponseValidator.IsValidDirect(Hit(2), A.NodeId, C.NodeId));
    }

    [Fact]
    public void A_response_is_never_sent_back_to_the_server_it_came_from()
    {
        Assert.True(ResponseValidator.GoesBack(Hit(1), A.NodeId));
        Assert.False(ResponseValidator.GoesBack(Hit(1), B.NodeId));
        Assert.False(ResponseValidator.GoesBack(Hit(1), Guid.Empty));
    }

    private static QueryHit Hit(byte remaining) => new(Guid.NewGuid(), 0, remaining, new BacktraceStack([A, B]), C, Files(1));

    private static IReadOnlyList<FoundFile> Files(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new FoundFile($"f{i}.txt", 10, new string('A', 64), $"f{i}.txt"))];

    private static Guid Id(int n) => new(n, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]);

    private static RouteHop Hop(int n) => new(Id(n), $"127.0.0.{n}:47100");
}
