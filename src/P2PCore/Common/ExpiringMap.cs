namespace P2PTransfer.Common;

/// <summary>
/// A map whose entries expire after a lifetime and whose size is capped (oldest entries go first), so a cache fed
/// from the network has bounded memory. Not thread-safe: its owner locks. Ages are read from the clock it is given
/// (the system's by default).
/// </summary>
internal sealed class ExpiringMap<TKey, TValue>(int capacity, TimeSpan lifetime, TimeProvider? clock = null) where TKey : notnull
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Dictionary<TKey, (TValue Value, long Sequence)> _entries = [];
    private readonly Queue<(TKey Key, long Sequence, long AddedAt)> _order = new();
    private readonly long _lifetimeMs = (long)lifetime.TotalMilliseconds;
    private long _sequence;

    public int Count => _entries.Count;

    public bool TryGetValue(TKey key, out TValue value)
    {
        Expire(ClockMilliseconds.Now(_clock));
        if (_entries.TryGetValue(key, out var entry))
        {
            value = entry.Value;
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>Adds the key unless present; returns false (and the present value) when it was there already.</summary>
    public bool TryAdd(TKey key, TValue value, out TValue existing)
    {
        long now = ClockMilliseconds.Now(_clock);
        Expire(now);
        if (_entries.TryGetValue(key, out var entry))
        {
            existing = entry.Value;
            return false;
        }

        while (_entries.Count >= capacity && _order.TryDequeue(out var oldest))
        {
            Remove(oldest.Key, oldest.Sequence);
        }

        long sequence = ++_sequence;
        _entries[key] = (value, sequence);
        _order.Enqueue((key, sequence, now));
        existing = default!;
        return true;
    }

    /// <summary>Changes the value of a present key, keeping its age.</summary>
    public void Update(TKey key, TValue value)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            _entries[key] = (value, entry.Sequence);
        }
    }

    private void Expire(long now)
    {
        while (_order.TryPeek(out var oldest) && now - oldest.AddedAt > _lifetimeMs)
        {
            _order.Dequeue();
            Remove(oldest.Key, oldest.Sequence);
        }
    }

    private void Remove(TKey key, long sequence)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.Sequence == sequence)
        {
            _entries.Remove(key);
        }
    }
}
