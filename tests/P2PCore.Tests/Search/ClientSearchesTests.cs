using P2PTransfer.Common;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Tests.Search;

/// <summary>The one place a client's searches are tracked: ids held until SearchDone, the open count, and what a stopping node waits for.</summary>
public class ClientSearchesTests
{
    private readonly WorkTracker _work = new();

    [Fact]
    public void A_search_holds_its_id_and_counts_as_open_until_its_id_is_released()
    {
        var searches = new ClientSearches();
        var search = NewSearch();
        searches.Add(7, search, new TaskCompletionSource().Task);

        Assert.True(searches.IsInUse(7));
        Assert.False(searches.IsInUse(8));
        Assert.Same(search, searches.Find(7));
        Assert.Equal(1, searches.OpenCount);
        Assert.Equal([search], searches.Open());

        searches.ReleaseId(search);
        Assert.False(searches.IsInUse(7));
        Assert.Null(searches.Find(7));
        Assert.Equal(0, searches.OpenCount);
        Assert.Empty(searches.Open());
    }

    [Fact]
    public void A_stopping_node_waits_for_a_search_whose_id_is_released_until_its_SearchDone_is_queued()
    {
        var searches = new ClientSearches();
        var search = NewSearch();
        var streamed = new TaskCompletionSource();
        searches.Add(1, search, streamed.Task);
        searches.ReleaseId(search);

        var all = searches.AllStreamed();
        Assert.False(all.IsCompleted);

        streamed.SetResult();
        searches.Remove(search);
        Assert.True(all.IsCompletedSuccessfully);
        Assert.True(searches.AllStreamed().IsCompletedSuccessfully);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_id_taken_again_before_the_last_SearchDone_is_queued_makes_the_stop_wait_for_both_whichever_ends_first(bool firstEndsFirst)
    {
        var searches = new ClientSearches();
        var first = NewSearch();
        var firstStreamed = new TaskCompletionSource();
        searches.Add(3, first, firstStreamed.Task);
        searches.ReleaseId(first);

        var second = NewSearch();
        var secondStreamed = new TaskCompletionSource();
        searches.Add(3, second, secondStreamed.Task);
        Assert.Same(second, searches.Find(3));
        Assert.Equal(1, searches.OpenCount);

        var (early, earlyStreamed, late, lateStreamed) = firstEndsFirst
            ? (first, firstStreamed, second, secondStreamed)
            : (second, secondStreamed, first, firstStreamed);
        earlyStreamed.SetResult();
        searches.Remove(early);
        Assert.False(searches.AllStreamed().IsCompleted);
        Assert.Equal(firstEndsFirst ? second : null, searches.Find(3));

        lateStreamed.SetResult();
        Assert.True(searches.AllStreamed().IsCompletedSuccessfully);
        searches.Remove(late);
        Assert.Null(searches.Find(3));
    }

    private NetworkSearch NewSearch()
    {
        Assert.True(_work.TryBegin(out var lease));
        return new NetworkSearch(Guid.NewGuid(), FileQuery.All, new SearchOptions(), lease, new SearchCounters(), _ => { }, TimeProvider.System);
    }
}
