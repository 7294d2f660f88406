using P2PTransfer.Common;

namespace P2PTransfer.Search;

/// <summary>
/// Responses a link was handed in the last few seconds. TCP accepting a frame does not mean the server behind
/// the link passed it on: when a link breaks, what it carried lately is delivered again straight to the entry
/// servers, which drop what they already have. Bounded in count, bytes and age.
/// </summary>
internal sealed class RecentResponses
{
    private const int Capacity = 512;
    private readonly Queue<(Protocol.Messages.QueryHit Hit, long SentAt)> _sent = new();
    private readonly TimeSpan _window;
    private readonly TimeProvider _clock;

    public RecentResponses(TimeSpan window, TimeProvider clock)
    {
        _window = window;
        _clock = clock;
    }

    private bool _taken;
    private long _bytes;

    /// <summary>Remembers a response handed to the link; false once the link has ended and its list was taken.</summary>
    public bool TryAdd(Protocol.Messages.QueryHit hit)
    {
        lock (_sent)
        {
            if (_taken)
            {
                return false;
            }

            long now = ClockMilliseconds.Now(_clock);
            Trim(now);
            // The oldest go first: they are the likeliest to have reached the server behind the link already.
            while (_sent.Count > 0 && (_sent.Count == Capacity || _bytes + hit.PayloadLength > SearchLimits.MaxRecentBytesPerLink))
            {
                Forget();
            }

            _sent.Enqueue((hit, now));
            _bytes += hit.PayloadLength;
            return true;
        }
    }

    /// <summary>Empties the list for good (the link has ended), returning what was sent within the window.</summary>
    public IReadOnlyList<Protocol.Messages.QueryHit> TakeAll()
    {
        lock (_sent)
        {
            _taken = true;
            Trim(ClockMilliseconds.Now(_clock));
            var hits = _sent.Select(s => s.Hit).ToList();
            _sent.Clear();
            _bytes = 0;
            return hits;
        }
    }

    private void Trim(long now)
    {
        while (_sent.TryPeek(out var oldest) && now - oldest.SentAt > _window.TotalMilliseconds)
        {
            Forget();
        }
    }

    private void Forget() => _bytes -= _sent.Dequeue().Hit.PayloadLength;
}
