using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>What a server refuses in a Query from a linked server, and how far it lets one go (protocol.md section 14, "Receiving a Query").</summary>
public class QueryValidatorTests
{
    private static readonly RouteHop Entry = Hop(1);
    private static readonly RouteHop Sender = Hop(2);
    private static readonly Guid Self = Id(9);

    [Fact]
    public void A_request_whose_stack_ends_with_its_sender_and_does_not_name_this_node_is_taken()
    {
        Assert.Null(QueryValidator.Refusal(Request(Entry, Sender), Self, Sender.NodeId, "b", closing: false));
    }

    [Fact]
    public void A_closing_node_takes_no_request()
    {
        Assert.Equal("this node is closing", QueryValidator.Refusal(Request(Entry, Sender), Self, Sender.NodeId, "b", closing: true));
    }

    [Fact]
    public void A_request_whose_stack_does_not_end_with_the_link_it_came_over_is_refused()
    {
        var refusal = QueryValidator.Refusal(Request(Sender, Entry), Self, Sender.NodeId, "b", closing: false);
        Assert.Equal("its backtrace stack does not end with the sender (b)", refusal);
    }

    [Fact]
    public void A_stack_that_names_a_server_twice_is_refused()
    {
        var refusal = QueryValidator.Refusal(Request(Sender, Entry, Sender), Self, Sender.NodeId, "b", closing: false);
        Assert.Equal("its backtrace stack names a server twice", refusal);
    }

    [Fact]
    public void A_stack_that_names_this_node_already_is_refused_as_a_loop_or_a_forgery()
    {
        var refusal = QueryValidator.Refusal(Request(new RouteHop(Self, "127.0.0.9:47100"), Sender), Self, Sender.NodeId, "b", closing: false);
        Assert.Equal("its backtrace stack names this node already: a loop or a forgery", refusal);
    }

    [Fact]
    public void A_stack_deeper_than_the_largest_ttl_is_refused_and_one_as_deep_is_taken()
    {
        var seven = Enumerable.Range(1, SearchLimits.MaxTtl).Select(Hop).ToArray();
        var eight = Enumerable.Range(1, SearchLimits.MaxTtl + 1).Select(Hop).ToArray();

        Assert.Null(QueryValidator.Refusal(Request(seven), Self, seven[^1].NodeId, "g", closing: false));
        Assert.Equal($"it travelled 8 links; the most is {SearchLimits.MaxTtl}", QueryValidator.Refusal(Request(eight), Self, eight[^1].NodeId, "h", closing: false));
    }

    [Fact]
    public void Hops_travelled_plus_hops_left_never_exceed_the_largest_ttl()
    {
        Assert.Equal(SearchLimits.MaxTtl - 2, QueryValidator.ClampedTtl(Request(ttl: 255, Entry, Sender)));
        Assert.Equal(3, QueryValidator.ClampedTtl(Request(ttl: 3, Entry, Sender)));
        Assert.Equal(0, QueryValidator.ClampedTtl(Request(ttl: 4, [.. Enumerable.Range(1, SearchLimits.MaxTtl).Select(Hop)])));
    }

    [Fact]
    public void A_request_for_no_results_asks_for_one_and_one_for_more_than_a_source_may_send_asks_for_that_many()
    {
        Assert.Equal(1u, QueryValidator.ClampedMaxResults(Request(Entry, Sender) with { MaxResults = 0 }));
        Assert.Equal(40u, QueryValidator.ClampedMaxResults(Request(Entry, Sender) with { MaxResults = 40 }));
        Assert.Equal((uint)SearchLimits.MaxHitsPerSource, QueryValidator.ClampedMaxResults(Request(Entry, Sender) with { MaxResults = uint.MaxValue }));
    }

    private static Query Request(params RouteHop[] stack) => Request(5, stack);

    private static Query Request(byte ttl, params RouteHop[] stack) =>
        new(Guid.NewGuid(), ttl, 100, new BacktraceStack(stack), Signing.NoProof, FileQuery.All);

    private static Guid Id(int n) => new(n, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]);

    private static RouteHop Hop(int n) => new(Id(n), $"127.0.0.{n}:47100");
}
