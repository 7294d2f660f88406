using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>The request and response caches: one admission per request even under races, bounded, expiring.</summary>
public class SearchCacheTests
{
    private static readonly RouteHop Entry = new(Guid.NewGuid(), "127.0.0.1:47100");

    [Fact]
    public void A_request_is_new_once_then_a_duplicate_and_a_copy_with_more_time_to_live_widens_it()
    {
        var cache = new RequestCache();
        var id = Guid.NewGuid();

        Assert.Equal(RequestAdmission.New, cache.Admit(id, 3, Entry));
        Assert.Equal(RequestAdmission.Duplicate, cache.Admit(id, 3, Entry));
        Assert.Equal(RequestAdmission.Duplicate, cache.Admit(id, 1, Entry));
        Assert.Equal(RequestAdmission.Widened, cache.Admit(id, 5, Entry));
        Assert.Equal(RequestAdmission.Duplicate, cache.Admit(id, 5, Entry));
        Assert.True(cache.Contains(id));
        Assert.False(cache.Contains(Guid.NewGuid()));
    }

    [Fact]
    public void Copies_of_a_request_admitted_at_the_same_moment_on_many_threads_are_new_exactly_once()
    {
        var cache = new RequestCache();
        var ids = Enumerable.Range(0, 2000).Select(_ => Guid.NewGuid()).ToArray();
        int news = 0;
        using var start = new Barrier(8);

        // Threads of their own: a barrier on pool threads would starve the other tests running meanwhile.
        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            foreach (var id in ids)
            {
                if (cache.Admit(id, 2, Entry) == RequestAdmission.New)
                {
                    Interlocked.Increment(ref news);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal(ids.Length, news);
    }

    [Fact]
    public void The_request_cache_keeps_at_most_its_capacity_dropping_the_oldest()
    {
        var cache = new RequestCache(capacity: 100);
        var ids = Enumerable.Range(0, 1000).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            cache.Admit(id, 1, Entry);
        }

        Assert.Equal(100, cache.Count);
        Assert.False(cache.Contains(ids[0]));
        Assert.True(cache.Contains(ids[^1]));
    }

    [Fact]
    public async Task Entries_expire_after_their_lifetime()
    {
        var requests = new RequestCache(lifetime: TimeSpan.FromSeconds(1));
        var responses = new ResponseCache(lifetime: TimeSpan.FromSeconds(1));
        var id = Guid.NewGuid();
        var source = Guid.NewGuid();
        Assert.Equal(RequestAdmission.New, requests.Admit(id, 1, Entry));
        Assert.True(responses.TryAdd(id, source, 0));
        Assert.False(responses.TryAdd(id, source, 0));
        Assert.True(responses.TryAdd(id, source, 1));

        await Task.Delay(TimeSpan.FromSeconds(2.5));

        Assert.False(requests.Contains(id));
        Assert.Equal(RequestAdmission.New, requests.Admit(id, 1, Entry));
        Assert.True(responses.TryAdd(id, source, 0));
    }

    [Fact]
    public void The_response_cache_is_bounded_too()
    {
        var cache = new ResponseCache(capacity: 10);
        var id = Guid.NewGuid();
        for (ushort batch = 0; batch < 100; batch++)
        {
            Assert.True(cache.TryAdd(id, id, batch));
        }

        // The oldest were dropped to make room, so the first batch counts as new again.
        Assert.True(cache.TryAdd(id, id, 0));
        Assert.False(cache.TryAdd(id, id, 99));
    }

    [Fact]
    public void A_link_remembers_at_most_its_bytes_of_recent_responses_the_newest_kept()
    {
        var recent = new RecentResponses(TimeSpan.FromSeconds(10), new ManualClock());
        // About 64 KiB each, as a server's answers come: 100 of them are over 6 MiB.
        var files = Enumerable.Range(0, 360).Select(i => new FoundFile($"file-{i:D4}-{new string('x', 60)}.txt", i, new string('B', 64), $"pub/{new string('y', 40)}/{i}.txt")).ToList();
        var stack = BacktraceStack.Start(new RouteHop(Guid.NewGuid(), "127.0.0.1:47100"));
        var hits = Enumerable.Range(0, 100).Select(i => new QueryHit(Guid.NewGuid(), (ushort)i, 1, stack, Signing.Unsigned(Guid.NewGuid(), "s", "127.0.0.1:1"), files)).ToList();
        foreach (var hit in hits)
        {
            Assert.True(recent.TryAdd(hit));
        }

        var kept = recent.TakeAll();
        Assert.True(kept.Sum(h => (long)h.PayloadLength) <= SearchLimits.MaxRecentBytesPerLink, $"{kept.Sum(h => (long)h.PayloadLength)} bytes kept");
        Assert.True(kept.Count >= 16, $"only {kept.Count} kept");
        Assert.Equal(hits[^1], kept[^1]);
    }
}

/// <summary>The buffer of results waiting for a reader (entry server and pure client alike) is bounded in count and in memory.</summary>
public class ResultBufferTests
{
    private static readonly SourceNode Source = Signing.Unsigned(Guid.NewGuid(), "src", "127.0.0.1:1");

    private static ResultBatch Batch(int files, int nameLength = 8) =>
        new(Source, 1, false, null, [.. Enumerable.Range(0, files).Select(i => new FoundFile(new string('n', nameLength), 1, new string('0', 64), "pub/x"))]);

    [Fact]
    public void A_batch_past_the_result_bound_is_refused_until_the_reader_takes_some()
    {
        var buffer = new ResultBuffer();
        int reserved = 0;
        while (reserved < 100 && buffer.TryReserve(Batch(1000)))
        {
            buffer.Publish(Batch(1000));
            reserved++;
        }

        Assert.Equal(SearchLimits.MaxBufferedResults / 1000, reserved);
        Assert.False(buffer.TryReserve(Batch(1)));
        Assert.True(buffer.TryRead(out var taken));
        Assert.Equal(1000, taken.Files.Count);
        Assert.True(buffer.TryReserve(Batch(1000)));
    }

    [Fact]
    public void A_batch_past_the_memory_bound_is_refused_even_under_the_result_bound()
    {
        var buffer = new ResultBuffer();
        var big = Batch(1000, nameLength: 1000);
        int reserved = 0;
        while (reserved < 100 && buffer.TryReserve(big))
        {
            buffer.Publish(big);
            reserved++;
        }

        Assert.InRange(reserved * 1000, 1, SearchLimits.MaxBufferedResults - 1);
        Assert.True(reserved * big.MemorySize <= SearchLimits.MaxBufferedBytes);
        Assert.True(buffer.TryRead(out _));
        Assert.True(buffer.TryReserve(big));
        Assert.True(buffer.HasBuffered);
    }
}
