namespace P2PTransfer.Common;

/// <summary>
/// A token bucket: <see cref="PerSecond"/> tokens a second on average, bursts up to <see cref="Burst"/>.
/// Counting requests, it lets a peer or client send what a busy network needs while a flood from it is dropped, not
/// queued (<see cref="TryTake"/>); counting bytes, it paces a download to a bandwidth (<see cref="TryTakeOnCredit"/>).
/// Reads time from the clock it is given (the system's by default), so a simulation can run it on a virtual one.
/// </summary>
internal sealed class RateLimit(double perSecond, double burst, TimeProvider? clock = null)
{
    private readonly object _gate = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private double _tokens = burst;
    private long _updatedAt = ClockMilliseconds.Now(clock ?? TimeProvider.System);

    public double PerSecond { get; } = perSecond;

    public double Burst { get; } = burst;

    public bool TryTake()
    {
        lock (_gate)
        {
            Refill();
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }

    /// <summary>
    /// Takes <paramref name="amount"/> tokens when the bucket is not in debt, even if fewer are left (it goes into
    /// debt, so an amount larger than the burst is never refused for ever); otherwise says how long until the debt is paid.
    /// </summary>
    public bool TryTakeOnCredit(double amount, out TimeSpan wait)
    {
        lock (_gate)
        {
            Refill();
            if (_tokens < 0)
            {
                wait = TimeSpan.FromMilliseconds(Math.Ceiling(-_tokens * 1000.0 / PerSecond));
                return false;
            }

            _tokens -= amount;
            wait = TimeSpan.Zero;
            return true;
        }
    }

    /// <summary>Takes <paramref name="amount"/> tokens whatever is left, going into debt if need be.</summary>
    public void Charge(double amount)
    {
        lock (_gate)
        {
            Refill();
            _tokens -= amount;
        }
    }

    private void Refill()
    {
        long now = ClockMilliseconds.Now(_clock);
        _tokens = Math.Min(Burst, _tokens + ((now - _updatedAt) * PerSecond / 1000.0));
        _updatedAt = now;
    }
}
