namespace P2PTransfer.Common;

/// <summary>
/// Counts work under way (a search being answered, an upload). Closing refuses new work and waits for the
/// running work to finish, so busy work is never cut off before the drain timeout; work still running then is
/// cancelled through the token every lease carries.
/// </summary>
internal sealed class WorkTracker
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _cutOff = new();
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

    /// <summary>True once closing has begun: new work is refused.</summary>
    public bool IsClosing
    {
        get
        {
            lock (_gate)
            {
                return _closing;
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

            lease = new WorkLease(this, _cutOff.Token);
            return true;
        }
    }

    /// <summary>Refuses new work from now on; running work goes on (the node calls it the moment it starts closing).</summary>
    public void RefuseNew()
    {
        lock (_gate)
        {
            _closing = true;
        }
    }

    /// <summary>
    /// Refuses new work and waits until running work ends or the timeout passes, then cancels what is still
    /// running. True when all work finished in time.
    /// </summary>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        RefuseNew();
        Task idle;
        lock (_gate)
        {
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            _cutOff.Cancel();
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
