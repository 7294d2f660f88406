using P2PTransfer.Common;
using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>
/// The requests this node has seen, by request id. Checked and updated in one step by the cascade workers, so
/// a request arriving twice at the same moment over two links is still processed and cascaded once. Also how
/// the node knows whether a response belongs to a request it saw. Entries expire (on the clock it is given, the
/// system's by default); memory is bounded.
/// </summary>
internal sealed class RequestCache(int capacity = RequestCache.DefaultCapacity, TimeSpan? lifetime = null, TimeProvider? clock = null)
{
    public const int DefaultCapacity = 100_000;

    /// <summary>Longer than any search may run, so no copy of a request outlives its entry.</summary>
    public static readonly TimeSpan DefaultLifetime = SearchLimits.MaxTimeout * 2;

    private readonly object _gate = new();
    private readonly ExpiringMap<Guid, (int Ttl, RouteHop Entry, KeyProof? Proof, string? Requester)> _seen = new(capacity, lifetime ?? DefaultLifetime, clock);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _seen.Count;
            }
        }
    }

    /// <summary>
    /// Records a request with the time to live its copy has left and its entry server, and says what to do with it.
    /// The entry server of the first copy is kept, with its proof and the remote address it came from (<paramref name="requester"/>,
    /// null for this node's own): responses are only ever delivered directly to that one, and only while that address may have them.
    /// </summary>
    public RequestAdmission Admit(Guid requestId, int ttl, RouteHop entry, KeyProof? proof = null, string? requester = null)
    {
        lock (_gate)
        {
            if (_seen.TryAdd(requestId, (ttl, entry, proof, requester), out var seen))
            {
                return RequestAdmission.New;
            }

            if (ttl <= seen.Ttl)
            {
                return RequestAdmission.Duplicate;
            }

            _seen.Update(requestId, (ttl, seen.Entry, seen.Proof, seen.Requester));
            return RequestAdmission.Widened;
        }
    }

    public bool Contains(Guid requestId) => EntryOf(requestId) is not null;

    /// <summary>The entry server of a request this node saw, or null.</summary>
    public RouteHop? EntryOf(Guid requestId)
    {
        lock (_gate)
        {
            return _seen.TryGetValue(requestId, out var seen) ? seen.Entry : null;
        }
    }

    /// <summary>The entry server of a request this node saw, the proof its copy carried and the address it came from, or null.</summary>
    public (RouteHop Entry, KeyProof? Proof, string? Requester)? EntryWithProof(Guid requestId)
    {
        lock (_gate)
        {
            return _seen.TryGetValue(requestId, out var seen) ? (seen.Entry, seen.Proof, seen.Requester) : null;
        }
    }
}
