using System.Threading.Channels;
using P2PTransfer.Common;

namespace P2PTransfer.Index;

/// <summary>
/// The index's maintenance, one job at a time: publish, unpublish and reconcile requests, full passes (at start,
/// periodically, after lost change notifications) and passes over changed paths. It is also the one place that
/// decides whether the index is busy.
/// </summary>
internal sealed class MaintenanceQueue
{
    private static readonly TimeSpan MaxChangeDelay = TimeSpan.FromSeconds(2);

    private readonly Channel<MaintenanceJob> _jobs = Channel.CreateBounded<MaintenanceJob>(new BoundedChannelOptions(64) { SingleReader = true });
    private readonly OncePass _fullPass = new();
    private readonly OncePass _changePass = new();
    private readonly ShareWatcher _watcher;
    private readonly HashPipeline _hashing;
    private readonly IndexOptions _options;
    private readonly NodeLog _log;
    private readonly Func<CancellationToken, Task> _fullPassWork;
    private readonly Func<IReadOnlyList<string>, CancellationToken, Task> _changedPathsWork;
    private readonly Action _jobEnded;
    private readonly CancellationToken _stopping;
    private int _pending;
    private volatile bool _fullPassWanted;

    /// <param name="fullPassWork">Compares every root with the disk.</param>
    /// <param name="changedPathsWork">Compares the parts of roots that changed paths touch with the disk.</param>
    /// <param name="jobEnded">Called after each job, however it ended.</param>
    /// <param name="stopping">Cancelled when the index stops.</param>
    public MaintenanceQueue(ShareWatcher watcher, HashPipeline hashing, IndexOptions options, NodeLog log, Func<CancellationToken, Task> fullPassWork, Func<IReadOnlyList<string>, CancellationToken, Task> changedPathsWork, Action jobEnded, CancellationToken stopping)
    {
        _watcher = watcher;
        _hashing = hashing;
        _options = options;
        _log = log;
        _fullPassWork = fullPassWork;
        _changedPathsWork = changedPathsWork;
        _jobEnded = jobEnded;
        _stopping = stopping;
    }

    /// <summary>True while a reconcile is queued or running, or files wait for hashing.</summary>
    /// <remarks>
    /// Work moves through stages (a wish for a full pass, changed paths, maintenance jobs, then the hash pipeline),
    /// and every hand-off marks the next stage before clearing the previous one, so reading the stages in this order
    /// never misses work that existed when the read began. The one step back (a hash job asking the feeder to try a
    /// row again) counts in <see cref="HashPipeline.Rewinds"/>, and a read that saw one starts over.
    /// </remarks>
    public bool IsBusy
    {
        get
        {
            for (var attempt = 0; ; attempt++)
            {
                var rewinds = _hashing.Rewinds;
                var busy = _fullPassWanted
                    || _watcher.HasChanges
                    || Volatile.Read(ref _pending) > 0
                    || _hashing.IsBusy;
                if (busy || rewinds == _hashing.Rewinds || attempt == 3)
                {
                    return busy;
                }
            }
        }
    }

    /// <summary>Jobs are queued or running.</summary>
    public bool HasJobs => Volatile.Read(ref _pending) > 0;

    /// <summary>Asks for a full pass (change notifications were lost).</summary>
    public void WantFullPass() => _fullPassWanted = true;

    /// <summary>Starts the loops and queues the first full pass.</summary>
    public void Start(BackgroundTasks tasks)
    {
        tasks.Run("index maintenance", MaintenanceLoopAsync);
        tasks.Run("index change watch", ChangeLoopAsync);

        // The first pass is queued (and counted) before Open returns, so a wait for hashing right after a start
        // cannot find nothing pending merely because the pass has not begun.
        if (_fullPass.TryClaim())
        {
            Interlocked.Increment(ref _pending);
            if (!_jobs.Writer.TryWrite(new MaintenanceJob(_fullPass.Then(_fullPassWork), Awaited: false)))
            {
                throw new InvalidOperationException("the maintenance queue of a new index is full");
            }
        }
    }

    /// <summary>Runs work on the maintenance loop and returns when it is done (with its exception, if it failed).</summary>
    public async Task RunAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        var job = new MaintenanceJob(work, Awaited: true);
        Interlocked.Increment(ref _pending);
        await EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
        await job.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until reconciles are done and every file found has been hashed (or found unreadable).</summary>
    public async Task WaitIdleAsync(CancellationToken cancellationToken)
    {
        // The gauges are updated from several loops; polling them briefly is simpler than a shared signal and costs nothing.
        while (IsBusy)
        {
            await Task.Delay(25, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the maintenance loop (after the stop token is cancelled).</summary>
    public void Complete() => _jobs.Writer.TryComplete();

    private async Task MaintenanceLoopAsync()
    {
        await foreach (var job in _jobs.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                _stopping.ThrowIfCancellationRequested();
                await job.Work(_stopping).ConfigureAwait(false);
                job.Done.TrySetResult();
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                job.Done.TrySetCanceled(_stopping);
            }
            catch (Exception e)
            {
                if (!job.Awaited)
                {
                    _log.Write(NodeLogLevel.Error, $"index maintenance failed: {e.Message}");
                }

                job.Done.TrySetException(e);
            }
            finally
            {
                _jobEnded();
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    /// <summary>
    /// Turns change notifications and the periodic timer into reconciles. Changes are looked at after a quiet moment,
    /// or at the latest <see cref="MaxChangeDelay"/> after the first one, so a file written without pause cannot hold
    /// back the others. At most one pass of each kind waits in the queue; changes noted meanwhile join it.
    /// </summary>
    private async Task ChangeLoopAsync()
    {
        var token = _stopping;
        var nextFullPass = Environment.TickCount64 + (long)_options.ReconcileInterval.TotalMilliseconds;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                var now = Environment.TickCount64;
                if (now >= nextFullPass)
                {
                    nextFullPass = now + (long)_options.ReconcileInterval.TotalMilliseconds;
                    _fullPassWanted = true;
                }

                // Counted as queued before the wish is cleared, so IsBusy never reads false in between.
                if (_fullPassWanted && _fullPass.TryClaim())
                {
                    Interlocked.Increment(ref _pending);
                    _fullPassWanted = false;
                    await EnqueueAsync(new MaintenanceJob(_fullPass.Then(_fullPassWork), Awaited: false), token).ConfigureAwait(false);
                }

                if (_watcher.IsDue(now, _options.ChangeDelay, MaxChangeDelay) && _changePass.TryClaim())
                {
                    Interlocked.Increment(ref _pending);
                    await EnqueueAsync(new MaintenanceJob(_changePass.Then(t => ReconcileChangesAsync(_watcher.TakeChanges(), t)), Awaited: false), token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task ReconcileChangesAsync(IReadOnlyList<string> paths, CancellationToken token)
    {
        try
        {
            await _changedPathsWork(paths, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The paths were taken off the list; a full pass makes sure their changes are not lost.
            _fullPassWanted = true;
            throw;
        }
    }

    /// <summary>Queues a job the caller has already counted in <see cref="_pending"/>.</summary>
    private async Task EnqueueAsync(MaintenanceJob job, CancellationToken cancellationToken)
    {
        try
        {
            await _jobs.Writer.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _pending);
            throw;
        }
    }
}
