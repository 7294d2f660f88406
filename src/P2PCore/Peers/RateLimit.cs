namespace P2PTransfer.Peers;

/// <summary>
/// A token bucket: <see cref="PerSecond"/> requests a second on average, bursts up to <see cref="Burst"/>.
/// Lets a peer or client send what a busy network needs while a flood from it is dropped, not queued.
/// </summary>
public sealed class RateLimit(double perSecond, double burst)
{
    private readonly object _gate = new();
    private double _tokens = burst;
    private long _updatedAt = Environment.TickCount64;

    public double PerSecond { get; } = perSecond;

    public double Burst { get; } = burst;

    public bool TryTake()
    {
        lock (_gate)
        {
            long now = Environment.TickCount64;
            _tokens = Math.Min(Burst, _tokens + ((now - _updatedAt) * PerSecond / 1000.0));
            _updatedAt = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }
}
