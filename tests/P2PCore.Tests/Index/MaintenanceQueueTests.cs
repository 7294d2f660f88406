using P2PTransfer.Common;
using P2PTransfer.Index;

namespace P2PTransfer.Tests.Index;

/// <summary>The maintenance queue on its own: when it is busy, how jobs end, and what a stopped index does with new ones.</summary>
public sealed class MaintenanceQueueTests : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);
    private readonly string _folder = Directory.CreateTempSubdirectory("p2pt-queue").FullName;
    private readonly NodeLog _log = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly IndexDatabase _db;
    private readonly ShareWatcher _watcher;
    private readonly HashPipeline _hashing;
    private readonly BackgroundTasks _tasks;
    private readonly List<MaintenanceQueue> _queues = [];
    private int _jobsEnded;

    public MaintenanceQueueTests()
    {
        var counters = new IndexCounters();
        _db = IndexDatabase.Open(Path.Combine(_folder, "index.db"), _ => { });
        _watcher = new ShareWatcher(counters, _ => { }, _ => { }, () => { });
        _hashing = new HashPipeline(_db, _log, counters, () => new Dictionary<long, ShareRoot>(), _ => true, () => { });
        _tasks = new BackgroundTasks(_log);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _stopping.Cancel();
        _queues.ForEach(queue => queue.Complete());
        _watcher.Dispose();
        _hashing.Complete();
        await _tasks.WaitAllAsync(Within);
        _db.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private MaintenanceQueue Start(Func<CancellationToken, Task>? fullPass = null, bool start = true)
    {
        var queue = new MaintenanceQueue(
            _watcher,
            _hashing,
            new IndexOptions(),
            _log,
            fullPass ?? (_ => Task.CompletedTask),
            (_, _) => Task.CompletedTask,
            () => Interlocked.Increment(ref _jobsEnded),
            _stopping.Token);
        _queues.Add(queue);
        if (start)
        {
            queue.Start(_tasks);
        }

        return queue;
    }

    [Fact]
    public async Task The_queue_is_busy_from_the_moment_a_job_is_asked_for_until_that_job_has_ended()
    {
        var queue = Start(start: false);
        Assert.False(queue.IsBusy);

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var job = queue.RunAsync(
            async token =>
            {
                started.SetResult();
                await gate.Task.WaitAsync(token);
            },
            CancellationToken.None);

        // Not started yet: the loop does not run, so the job only waits in the queue.
        Assert.True(queue.IsBusy);
        Assert.True(queue.HasJobs);
        queue.Start(_tasks);
        await started.Task.WaitAsync(Within);
        var idle = queue.WaitIdleAsync(CancellationToken.None);
        Assert.True(queue.IsBusy);
        Assert.False(idle.IsCompleted);

        gate.SetResult();
        await job.WaitAsync(Within);
        await idle.WaitAsync(Within);
        Assert.False(queue.IsBusy);
        Assert.False(queue.HasJobs);
        Assert.Equal(2, Volatile.Read(ref _jobsEnded));
    }

    [Fact]
    public async Task A_failed_job_throws_to_the_caller_waiting_for_it_and_only_a_failed_background_pass_is_logged()
    {
        var queue = Start(fullPass: _ => Task.FromException(new IOException("the disk went away")));

        // Jobs run in order: the first full pass (queued at start) has failed by the time this one runs.
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(
            () => queue.RunAsync(_ => Task.FromException(new InvalidOperationException("a request that failed")), CancellationToken.None).WaitAsync(Within));
        Assert.Equal("a request that failed", failure.Message);
        await queue.WaitIdleAsync(CancellationToken.None).WaitAsync(Within);

        var entries = _log.Recent();
        Assert.Contains(entries, e => e.Level == NodeLogLevel.Error && e.Message == "index maintenance failed: the disk went away");
        Assert.DoesNotContain(entries, e => e.Message.Contains("a request that failed", StringComparison.Ordinal));
        Assert.Equal(2, Volatile.Read(ref _jobsEnded));
    }

    [Fact]
    public async Task A_job_asked_for_once_the_index_is_stopping_is_cancelled_without_running()
    {
        var queue = Start(start: false);
        var ran = false;
        var job = queue.RunAsync(_ => { ran = true; return Task.CompletedTask; }, CancellationToken.None);
        _stopping.Cancel();
        queue.Start(_tasks);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.WaitAsync(Within));
        Assert.False(ran);
    }
}
