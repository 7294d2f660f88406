using System.Collections.Concurrent;

namespace P2PTransfer.Search;

/// <summary>
/// The searches one client has entered at this node: the one place that tracks them. A search holds the id the
/// client chose until just before its SearchDone is queued (the client may reuse the id as soon as it reads that),
/// and stays here until its SearchDone is queued, so a stopping node sends every SearchDone before its Bye. A
/// client holds at most <see cref="SearchLimits.MaxSearchesPerClient"/> ids, so finding one by id is a short walk.
/// </summary>
internal sealed class ClientSearches
{
    private readonly ConcurrentDictionary<NetworkSearch, ClientSearch> _searches = new();

    /// <summary>Searches holding their id: those the client may still cancel and that count towards <see cref="SearchLimits.MaxSearchesPerClient"/>.</summary>
    public int OpenCount => _searches.Values.Count(s => s.HoldsId);

    public bool IsInUse(uint searchId) => Find(searchId) is not null;

    /// <summary>The search holding this id, or null.</summary>
    public NetworkSearch? Find(uint searchId) => _searches.Values.FirstOrDefault(s => s.HoldsId && s.SearchId == searchId)?.Search;

    /// <summary>The searches holding their ids.</summary>
    public IReadOnlyList<NetworkSearch> Open() => [.. _searches.Values.Where(s => s.HoldsId).Select(s => s.Search)];

    /// <summary>Tracks a search under a free id (see <see cref="IsInUse"/>) until <paramref name="streamed"/> completes and it is removed.</summary>
    public void Add(uint searchId, NetworkSearch search, Task streamed) => _searches[search] = new ClientSearch(searchId, search, streamed);

    /// <summary>Frees the search's id, before its SearchDone is queued.</summary>
    public void ReleaseId(NetworkSearch search)
    {
        if (_searches.TryGetValue(search, out var entry))
        {
            entry.ReleaseId();
        }
    }

    /// <summary>Forgets a search whose SearchDone is queued (or whose client is gone).</summary>
    public void Remove(NetworkSearch search) => _searches.TryRemove(search, out _);

    /// <summary>Completes when every search tracked now has queued its SearchDone.</summary>
    public Task AllStreamed() => Task.WhenAll(_searches.Values.Select(s => s.Streamed));
}
