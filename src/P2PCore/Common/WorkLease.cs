namespace P2PTransfer.Common;

/// <summary>One piece of registered work; dispose it when the work ends. Its token is cancelled at the drain timeout.</summary>
internal struct WorkLease : IDisposable
{
    private WorkTracker? _tracker;

    internal WorkLease(WorkTracker tracker, CancellationToken cancellation)
    {
        _tracker = tracker;
        Cancellation = cancellation;
    }

    /// <summary>Cancelled when the node stops and this work has outlived the drain timeout.</summary>
    public CancellationToken Cancellation { get; }

    public void Dispose()
    {
        Interlocked.Exchange(ref _tracker, null)?.End();
    }
}
