using System.Collections.Concurrent;
using System.Threading.Channels;
using P2PTransfer.Common;
using P2PTransfer.Protocol;

namespace P2PTransfer.Index;

/// <summary>
/// What a node shares. Keeps the SQLite index in step with the shared folders (reconcile at start, on change
/// notifications and periodically), hashes new and changed files in the background with bounded parallelism, and
/// answers local searches. Files become searchable as soon as they are hashed.
/// </summary>
public sealed class ShareIndex : IAsyncDisposable
{
    private const string DatabaseFileName = "index.db";
    private static readonly TimeSpan MaxChangeDelay = TimeSpan.FromSeconds(2);

    private readonly IndexDatabase _db;
    private readonly IndexOptions _options;
    private readonly NodeLog _log;
    private readonly string _stateDirectory;
    private readonly BackgroundTasks _tasks;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<MaintenanceJob> _maintenance = Channel.CreateBounded<MaintenanceJob>(new BoundedChannelOptions(64) { SingleReader = true });
    private readonly HashPipeline _hashing;
    private readonly ShareWatcher _watcher;
    private readonly ConcurrentDictionary<string, byte> _warned = new();
    private readonly OncePass _fullPass = new();
    private readonly OncePass _changePass = new();

    private readonly PublishedRoots _roots;
    private readonly ShareReconciler _reconciler;
    private int _maintenancePending;
    private int _disposed;
    private volatile bool _fullPassWanted;
    private volatile CachedProgress? _progress;

    private ShareIndex(IndexDatabase db, IndexOptions options, NodeLog log, string stateDirectory, IReadOnlyList<Wildcard> excludeNames)
    {
        _db = db;
        _options = options;
        _log = log;
        _stateDirectory = stateDirectory;
        _tasks = new BackgroundTasks(log);
        _watcher = new ShareWatcher(Counters, WarnOnce, message => _log.Write(NodeLogLevel.Verbose, message), () => _fullPassWanted = true);
        _roots = new PublishedRoots(db, _watcher, log);
        _hashing = new HashPipeline(db, log, Counters, () => _roots.Current.ById, job => _roots.Current.StillShares(job.RootId, job.FullPath), () => _progress = null, options.PieceRead);
        var newScanner = () => new ShareScanner(excludeNames, options.IsNeverShared, _roots.Current.ExcludedPaths, stateDirectory, message => _log.Write(NodeLogLevel.Verbose, message), WarnOnce);
        _reconciler = new ShareReconciler(db, _roots, newScanner, Counters, log, _hashing.Signal, () => _progress = null);
    }

    public IndexCounters Counters { get; } = new();

    /// <summary>The shared folders and files.</summary>
    public IReadOnlyList<string> Roots => [.. _roots.Current.All.Select(r => r.FullPath)];

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
                    || Volatile.Read(ref _maintenancePending) > 0
                    || _hashing.IsBusy;
                if (busy || rewinds == _hashing.Rewinds || attempt == 3)
                {
                    return busy;
                }
            }
        }
    }

    /// <summary>Watchers in use (one per shared folder, one per folder holding shared single files).</summary>
    internal int WatcherCount => _watcher.Count;

    /// <summary>
    /// Opens the index in <paramref name="stateDirectory"/>, applies the share list and starts the first reconcile
    /// in the background. Throws <see cref="ArgumentException"/> for a share that does not exist or holds the state folder.
    /// </summary>
    public static ShareIndex Open(string stateDirectory, IndexOptions options, NodeLog log)
    {
        var excludeNames = options.Exclude.Select(Wildcard.Parse).ToList();
        var state = ShareRoot.Normalize(stateDirectory);
        var requested = options.Shares is null ? null : SharePaths.CheckShareable(options.Shares, state);
        var db = IndexDatabase.Open(Path.Combine(state, DatabaseFileName), message => log.Write(NodeLogLevel.Warning, message));
        try
        {
            var index = new ShareIndex(db, options, log, state, excludeNames);
            if (requested is not null)
            {
                index._roots.Replace(requested);
            }

            index.Start();
            return index;
        }
        catch
        {
            // Nothing runs before Start, so the database is all there is to release.
            db.Dispose();
            throw;
        }
    }

    /// <summary>Shares more folders or files (or shares again a path that was unpublished inside a shared folder).</summary>
    public Task PublishAsync(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        var checkedPaths = SharePaths.CheckShareable(paths, _stateDirectory);
        return RunMaintenanceAsync(async token =>
        {
            foreach (var (path, isFile) in checkedPaths)
            {
                await PublishOneAsync(path, isFile, token).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>Stops sharing paths: a shared root is dropped; a path inside a shared folder is excluded from it.</summary>
    public Task UnpublishAsync(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        var fullPaths = paths.Select(ShareRoot.Normalize).ToList();
        return RunMaintenanceAsync(async token =>
        {
            foreach (var path in fullPaths)
            {
                await UnpublishOneAsync(path, token).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>Compares every root with the disk now, and returns when that pass has been applied.</summary>
    public Task ReconcileAsync(CancellationToken cancellationToken = default) => RunMaintenanceAsync(_reconciler.ReconcileAllAsync, cancellationToken);

    /// <summary>Waits until reconciles are done and every file found has been hashed (or found unreadable).</summary>
    public async Task WaitIdleAsync(CancellationToken cancellationToken)
    {
        // The gauges are updated from several loops; polling them briefly is simpler than a shared signal and costs nothing.
        while (IsBusy)
        {
            await Task.Delay(25, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until every file below the given paths has been hashed (or found unreadable); changes elsewhere, such
    /// as a log file written without pause, do not hold this up.
    /// </summary>
    public async Task WaitHashedAsync(IEnumerable<string> paths, CancellationToken cancellationToken)
    {
        var fullPaths = paths.Select(ShareRoot.Normalize).ToList();
        while (true)
        {
            var scopes = _roots.Current.ScopesOf(fullPaths);
            if (Volatile.Read(ref _maintenancePending) == 0
                && scopes.All(s => _db.CountPending(s.Root.Id, s.Scope) == 0))
            {
                return;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Files and bytes hashed of all shared; the counts are read from the index at most once a second.</summary>
    public IndexProgress GetProgress()
    {
        var busy = IsBusy;
        var now = Environment.TickCount64;
        var cached = _progress;
        if (cached is not null && (now - cached.Ticks < 1000 || _stopping.IsCancellationRequested))
        {
            return cached.Value with { Busy = busy };
        }

        if (_stopping.IsCancellationRequested)
        {
            return new IndexProgress(0, 0, 0, 0, 0);
        }

        var progress = _db.GetProgress();
        _progress = new CachedProgress(progress, now);
        return progress with { Busy = busy };
    }

    /// <summary>Every shared file (any state), optionally only names matching a wildcard.</summary>
    public IEnumerable<SharedFile> GetFiles(string? name = null, CancellationToken cancellationToken = default)
    {
        var pattern = string.IsNullOrEmpty(name) ? null : Wildcard.Parse(name);
        return _db.ListFiles(pattern, cancellationToken).Select(ToSharedFile).OfType<SharedFile>();
    }

    /// <summary>Hashed files matching every criterion of the query.</summary>
    public IEnumerable<SharedFile> Search(FileQuery query, int maxResults = int.MaxValue, CancellationToken cancellationToken = default) =>
        Search(query.Compile(), maxResults, cancellationToken);

    /// <summary>Runs a query compiled already (one compiled query serves one search: it keeps the pattern's time budget).</summary>
    public IEnumerable<SharedFile> Search(CompiledQuery query, int maxResults = int.MaxValue, CancellationToken cancellationToken = default) =>
        _db.Search(query, maxResults, cancellationToken).Select(ToSharedFile).OfType<SharedFile>();

    /// <summary>Where a hashed file is, and its piece hashes; null when no shared file has this content.</summary>
    public (SharedFile File, FileDigest Digest)? FindByHash(string hash)
    {
        if (_db.FindByHash(FileQuery.ParseHash(hash)) is not { } found || ToSharedFile(found.File) is not { } file)
        {
            return null;
        }

        return (file, found.Digest);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        _watcher.Dispose();
        _maintenance.Writer.TryComplete();
        _hashing.Complete();
        if (!await _tasks.WaitAllAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
        {
            _log.Write(NodeLogLevel.Warning, "index tasks did not stop within 10 s");
        }

        _db.Dispose();
    }

    // ---- start-up and background loops ----

    private void Start()
    {
        _roots.WatchAll();
        _hashing.Start(_tasks, _options.HashWorkers, _stopping.Token);
        _tasks.Run("index maintenance", MaintenanceLoopAsync);
        _tasks.Run("index change watch", ChangeLoopAsync);

        // The first pass is queued (and counted) before Open returns, so a wait for hashing right after a start
        // cannot find nothing pending merely because the pass has not begun.
        if (_fullPass.TryClaim())
        {
            Interlocked.Increment(ref _maintenancePending);
            if (!_maintenance.Writer.TryWrite(new MaintenanceJob(_fullPass.Then(_reconciler.ReconcileAllAsync), Awaited: false)))
            {
                throw new InvalidOperationException("the maintenance queue of a new index is full");
            }
        }
    }

    private async Task MaintenanceLoopAsync()
    {
        await foreach (var job in _maintenance.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                _stopping.Token.ThrowIfCancellationRequested();
                await job.Work(_stopping.Token).ConfigureAwait(false);
                job.Done.TrySetResult();
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                job.Done.TrySetCanceled(_stopping.Token);
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
                _progress = null;
                Interlocked.Decrement(ref _maintenancePending);
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
        var token = _stopping.Token;
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
                    Interlocked.Increment(ref _maintenancePending);
                    _fullPassWanted = false;
                    await EnqueueAsync(new MaintenanceJob(_fullPass.Then(_reconciler.ReconcileAllAsync), Awaited: false), token).ConfigureAwait(false);
                }

                if (_watcher.IsDue(now, _options.ChangeDelay, MaxChangeDelay) && _changePass.TryClaim())
                {
                    Interlocked.Increment(ref _maintenancePending);
                    await EnqueueAsync(new MaintenanceJob(_changePass.Then(t => ReconcileChangesAsync(_watcher.TakeChanges(), t)), Awaited: false), token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    /// <summary>A problem seen on every pass (an unreadable folder) is a warning the first time, then verbose.</summary>
    private void WarnOnce(string message)
    {
        var first = _warned.Count < 10_000 && _warned.TryAdd(message, 0);
        _log.Write(first ? NodeLogLevel.Warning : NodeLogLevel.Verbose, message);
    }

    // ---- maintenance work (runs on the maintenance loop only) ----

    private async Task RunMaintenanceAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        var job = new MaintenanceJob(work, Awaited: true);
        Interlocked.Increment(ref _maintenancePending);
        await EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
        await job.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a job the caller has already counted in <see cref="_maintenancePending"/>.</summary>
    private async Task EnqueueAsync(MaintenanceJob job, CancellationToken cancellationToken)
    {
        try
        {
            await _maintenance.Writer.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _maintenancePending);
            throw;
        }
    }

    private async Task ReconcileChangesAsync(IReadOnlyList<string> paths, CancellationToken token)
    {
        try
        {
            await _reconciler.ReconcilePathsAsync(paths, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The paths were taken off the list; a full pass makes sure their changes are not lost.
            _fullPassWanted = true;
            throw;
        }
    }

    private async Task PublishOneAsync(string path, bool isFile, CancellationToken token)
    {
        if (_roots.Publish(path, isFile) is { } changed)
        {
            await _reconciler.ReconcileAsync(changed.Root, changed.Scope, token).ConfigureAwait(false);
        }
    }

    private async Task UnpublishOneAsync(string path, CancellationToken token)
    {
        if (_roots.Unpublish(path) is { } changed)
        {
            await _reconciler.ReconcileAsync(changed.Root, changed.Scope, token).ConfigureAwait(false);
        }
    }

    private SharedFile? ToSharedFile(IndexedFile file)
    {
        return !_roots.Current.ById.TryGetValue(file.RootId, out var root)
            ? null
            : new SharedFile
            {
                Name = file.Name,
                RelativePath = root.PublicPath(file.StoredPath),
                FullName = root.LocalPath(file.StoredPath),
                Size = file.Size,
                Hash = file.Sha256 is null ? null : Convert.ToHexString(file.Sha256),
                LastWriteTime = new DateTime(file.Modified, DateTimeKind.Utc).ToLocalTime(),
                State = file.State,
                Error = file.Error,
                Share = root.FullPath,
            };
    }

    /// <summary>
    /// Checks paths can be shared: each exists and neither is nor holds the node's state folder. Throws
    /// <see cref="FileNotFoundException"/> or <see cref="ArgumentException"/>; returns the full paths and whether each is a file.
    /// </summary>
    public static List<(string Path, bool IsFile)> CheckShareable(IEnumerable<string> paths, string stateDirectory) =>
        SharePaths.CheckShareable(paths, stateDirectory);

    private sealed record MaintenanceJob(Func<CancellationToken, Task> Work, bool Awaited)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record CachedProgress(IndexProgress Value, long Ticks);

    /// <summary>A background pass of which at most one waits in the queue; further wishes join it.</summary>
    private sealed class OncePass
    {
        private int _queued;

        public bool TryClaim() => Interlocked.CompareExchange(ref _queued, 1, 0) == 0;

        /// <summary>The job's work: it frees the claim as it starts, so changes noted while it runs queue the next pass.</summary>
        public Func<CancellationToken, Task> Then(Func<CancellationToken, Task> work) => token =>
        {
            Volatile.Write(ref _queued, 0);
            return work(token);
        };
    }
}

