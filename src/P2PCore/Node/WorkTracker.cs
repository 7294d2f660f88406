namespace P2PTransfer.Node;

/// <summary>
/// Counts work under way (a search being answered, an upload). Closing refuses new work and waits for the
/// running work to finish, so busy work is never cut off before the drain timeout.
/// </summary>
public sealed class WorkTracker
{
    private readonly object _gate = new();
    private TaskCompletionSource _idle = NewIdle(completed: true);
    private int _active;
    private bool _closing;

    public int Active
    {
        get
        {
            lock (_gate)
            {
                return _active;
            }
        }
    }

    /// <summary>Registers one piece of work; false once the node is closing.</summary>
    public bool TryBegin(out WorkLease lease)
    {
        lock (_gate)
        {
            if (_closing)
            {
                lease = default;
                return false;
            }

            if (_active++ == 0)
            {
                _idle = NewIdle(completed: false);
            }

            lease = new WorkLease(this);
            return true;
        }
    }

    /// <summary>Refuses new work and waits until running work ends or the timeout passes. True when all work finished.</summary>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        Task idle;
        lock (_gate)
        {
            _closing = true;
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    internal void End()
    {
        lock (_gate)
        {
            if (--_active == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            source.SetResult();
        }

        return source;
    }
}

/// <summary>One piece of registered work; dispose it when the work ends.</summary>
public struct WorkLease : IDisposable
{
    private WorkTracker? _tracker;

    internal WorkLease(WorkTracker tracker) => _tracker = tracker;

    public void Dispose()
    {
        Interlocked.Exchange(ref _tracker, null)?.End();
    }
}
