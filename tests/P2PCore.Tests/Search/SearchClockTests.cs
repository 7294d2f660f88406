using P2PTransfer.Common;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>What the router times runs on the clock it is given, so a simulation can run it on a virtual one.</summary>
public class SearchClockTests
{
    private static readonly RouteHop Entry = new(Guid.NewGuid(), "127.0.0.1:47100");

    [Fact]
    public void The_request_and_response_caches_forget_on_the_clock_they_are_given()
    {
        var clock = new ManualClock();
        var requests = new RequestCache(lifetime: TimeSpan.FromSeconds(10), clock: clock);
        var responses = new ResponseCache(lifetime: TimeSpan.FromSeconds(10), clock: clock);
        var id = Guid.NewGuid();
        var source = Guid.NewGuid();
        Assert.Equal(RequestAdmission.New, requests.Admit(id, 1, Entry));
        Assert.True(responses.TryAdd(id, source, 0));

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(requests.Contains(id));
        Assert.False(responses.TryAdd(id, source, 0));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(requests.Contains(id));
        Assert.True(responses.TryAdd(id, source, 0));
    }

    [Fact]
    public void A_link_forgets_the_responses_it_was_handed_once_they_are_older_than_its_window_on_the_given_clock()
    {
        var clock = new ManualClock();
        var recent = new RecentResponses(TimeSpan.FromSeconds(10), clock);
        var old = Hit();
        var young = Hit();
        Assert.True(recent.TryAdd(old));
        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.True(recent.TryAdd(young));
        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal([young], recent.TakeAll());
        Assert.False(recent.TryAdd(Hit()));
    }

    [Fact]
    public void A_links_query_rate_refills_on_the_given_clock()
    {
        var clock = new ManualClock();
        var rate = new RateLimit(perSecond: 10, burst: 20, clock);
        for (int i = 0; i < 20; i++)
        {
            Assert.True(rate.TryTake());
        }

        Assert.False(rate.TryTake());
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(rate.TryTake());
        Assert.False(rate.TryTake());
    }

    [Fact]
    public void A_searchs_elapsed_time_is_read_from_the_given_clock()
    {
        var clock = new ManualClock();
        var work = new WorkTracker();
        Assert.True(work.TryBegin(out var lease));
        var search = new NetworkSearch(Guid.NewGuid(), FileQuery.All, new SearchOptions(), lease, new SearchCounters(), _ => { }, clock);

        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), search.Elapsed);
        search.Cancel();
    }

    private static QueryHit Hit() =>
        new(Guid.NewGuid(), 0, 1, BacktraceStack.Start(Entry), Signing.Unsigned(Guid.NewGuid(), "s", "127.0.0.2:47100"), [new FoundFile("f.txt", 1, new string('A', 64), "f.txt")]);
}
