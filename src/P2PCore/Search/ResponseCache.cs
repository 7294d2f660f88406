using P2PTransfer.Common;

namespace P2PTransfer.Search;

/// <summary>
/// The responses this node has routed or delivered, by request, source and batch. The same response arriving
/// again (delivered directly after it also came the long way, re-delivered after a link broke, or over a loop)
/// is dropped, so it is never routed twice nor shown twice. Entries expire (on the clock it is given, the system's
/// by default); memory is bounded.
/// </summary>
internal sealed class ResponseCache(int capacity = ResponseCache.DefaultCapacity, TimeSpan? lifetime = null, TimeProvider? clock = null)
{
    public const int DefaultCapacity = 200_000;

    private readonly object _gate = new();
    private readonly ExpiringMap<(Guid RequestId, Guid Source, ushort Batch, Guid Copy), byte> _seen = new(capacity, lifetime ?? RequestCache.DefaultLifetime, clock);

    /// <summary>
    /// Records a response; false when this node has had it already. <paramref name="copy"/> tells apart copies that
    /// claim the same source and batch but are not known to be its (a server routing a response checks no
    /// signature): empty for a response whose signature was checked, so a forged copy never stands for the genuine one.
    /// </summary>
    public bool TryAdd(Guid requestId, Guid source, ushort batch, Guid copy = default)
    {
        lock (_gate)
        {
            return _seen.TryAdd((requestId, source, batch, copy), 0, out _);
        }
    }
}
