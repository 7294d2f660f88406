using System.Collections.Concurrent;
using System.Threading.Channels;
using P2PTransfer.Node;
using P2PTransfer.Search;

namespace P2PTransfer.Index;

/// <summary>
/// What a node shares. Keeps the SQLite index in step with the shared folders (reconcile at start, on change
/// notifications and periodically), hashes new and changed files in the background with bounded parallelism, and
/// answers local searches. Files become searchable as soon as they are hashed.
/// </summary>
public sealed class ShareIndex : IAsyncDisposable
{
    private const string DatabaseFileName = "index.db";
    private const int ReconcileBatch = 2000;
    private const int OutcomeBatch = 512;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxChangeDelay = TimeSpan.FromSeconds(2);

    private readonly IndexDatabase _db;
    private readonly IndexOptions _options;
    private readonly NodeLog _log;
    private readonly string _stateDirectory;
    private readonly IReadOnlyList<Wildcard> _excludeNames;
    private readonly BackgroundTasks _tasks;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<MaintenanceJob> _maintenance = Channel.CreateBounded<MaintenanceJob>(new BoundedChannelOptions(64) { SingleReader = true });
    private readonly Channel<HashJob> _hashJobs;
    private readonly Channel<(HashJob Job, HashOutcome Outcome)> _outcomes = Channel.CreateBounded<(HashJob, HashOutcome)>(new BoundedChannelOptions(1024) { SingleReader = true });
    private readonly Channel<bool> _feedSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<long, byte> _unreachableRoots = new();
    private readonly ConcurrentDictionary<string, byte> _warned = new();
    private readonly ConcurrentDictionary<long, HashJob> _queued = new();

    // Rows the feeder skipped because an older job for them was still queued: fed again when that job leaves.
    private readonly ConcurrentDictionary<long, byte> _refeed = new();

    // Rows stored since the feeder's current sweep began: a batch read before they were stored must not feed them again.
    private readonly ConcurrentDictionary<long, (long Size, long Modified)> _storedThisSweep = new();
    private readonly ConcurrentDictionary<string, byte> _changedPaths = new();
    // One watcher per shared folder, and one per folder holding shared single files (Linux gives each user only
    // 128 inotify instances, so a watcher per published file would run out).
    private readonly Dictionary<string, (FileSystemWatcher Watcher, HashSet<long> Roots)> _watchers = new(ShareRoot.PathComparer);
    private readonly object _gate = new();
    private List<ShareRoot> _roots;
    private HashSet<string> _excludedPaths;
    private int _maintenancePending;
    private long _rewinds;
    private int _feeding;
    private int _fullPassQueued;
    private int _changePassQueued;
    private int _disposed;
    private long _lastChangeTicks;
    private long _firstChangeTicks;
    private volatile bool _fullPassWanted;
    private volatile CachedProgress? _progress;

    private ShareIndex(IndexDatabase db, IndexOptions options, NodeLog log, string stateDirectory, IReadOnlyList<Wildcard> excludeNames)
    {
        _db = db;
        _options = options;
        _log = log;
        _stateDirectory = stateDirectory;
        _excludeNames = excludeNames;
        _tasks = new BackgroundTasks(log);
        _hashJobs = Channel.CreateBounded<HashJob>(new BoundedChannelOptions(256));
        _roots = db.LoadRoots();
        _excludedPaths = new HashSet<string>(db.LoadExcludedPaths(), ShareRoot.PathComparer);
    }

    public IndexCounters Counters { get; } = new();

    /// <summary>The shared folders and files.</summary>
    public IReadOnlyList<string> Roots
    {
        get
        {
            lock (_gate)
            {
                return [.. _roots.Select(r => r.FullPath)];
            }
        }
    }

    /// <summary>True while a reconcile is queued or running, or files wait for hashing.</summary>
    /// <remarks>
    /// Work moves through stages (a wish for a full pass, changed paths, maintenance jobs, the feeder's signal, the
    /// feeder, queued hash jobs), and every hand-off marks the next stage before clearing the previous one, so reading
    /// the stages in this order never misses work that existed when the read began. The one step back (a hash job
    /// asking the feeder to try a row again) bumps <see cref="_rewinds"/>, and a read that saw one starts over.
    /// </remarks>
    public bool IsBusy
    {
        get
        {
            for (var attempt = 0; ; attempt++)
            {
                var rewinds = Interlocked.Read(ref _rewinds);
                var busy = _fullPassWanted
                    || !_changedPaths.IsEmpty
                    || Volatile.Read(ref _maintenancePending) > 0
                    || _feedSignal.Reader.Count > 0
                    || Volatile.Read(ref _feeding) == 1
                    || !_queued.IsEmpty;
                if (busy || rewinds == Interlocked.Read(ref _rewinds) || attempt == 3)
                {
                    return busy;
                }
            }
        }
    }

    /// <summary>
    /// Opens the index in <paramref name="stateDirectory"/>, applies the share list and starts the first reconcile
    /// in the background. Throws <see cref="ArgumentException"/> for a share that does not exist or holds the state folder.
    /// </summary>
    public static ShareIndex Open(string stateDirectory, IndexOptions options, NodeLog log)
    {
        var excludeNames = options.Exclude.Select(Wildcard.Parse).ToList();
        var state = ShareRoot.Normalize(stateDirectory);
        var requested = options.Shares?.Select(path => CheckShareable(path, state)).ToList();
        var db = IndexDatabase.Open(Path.Combine(state, DatabaseFileName), message => log.Write(NodeLogLevel.Warning, message));
        try
        {
            var index = new ShareIndex(db, options, log, state, excludeNames);
            if (requested is not null)
            {
                index.ReplaceRoots(requested);
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
        var checkedPaths = paths.Select(p => CheckShareable(p, _stateDirectory)).ToList();
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
    public Task ReconcileAsync(CancellationToken cancellationToken = default) => RunMaintenanceAsync(ReconcileAllAsync, cancellationToken);

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
            var scopes = SnapshotRoots()
                .SelectMany(root => fullPaths.Select(path => (Root: root, Scope: ScopeOf(root, path))))
                .Where(s => s.Scope is not null)
                .ToList();
            if (Volatile.Read(ref _maintenancePending) == 0
                && scopes.All(s => _db.CountPending(s.Root.Id, s.Scope!) == 0))
            {
                return;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        // The part of a root a path covers: all of it when the path holds the root, else the stored path; null when unrelated.
        static string? ScopeOf(ShareRoot root, string path) =>
            ShareRoot.Contains(path, root.FullPath) ? string.Empty : root.IsFile ? null : root.StoredPath(path);
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
    public IEnumerable<SharedFile> Search(FileQuery query, int maxResults = int.MaxValue, CancellationToken cancellationToken = default)
    {
        var compiled = query.Compile();
        return _db.Search(compiled, maxResults, cancellationToken).Select(ToSharedFile).OfType<SharedFile>();
    }

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
        lock (_watchers)
        {
            foreach (var (watcher, _) in _watchers.Values)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
        }

        _maintenance.Writer.TryComplete();
        _feedSignal.Writer.TryComplete();
        _hashJobs.Writer.TryComplete();
        _outcomes.Writer.TryComplete();
        if (!await _tasks.WaitAllAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
        {
            _log.Write(NodeLogLevel.Warning, "index tasks did not stop within 10 s");
        }

        _db.Dispose();
    }

    // ---- start-up and background loops ----

    private void Start()
    {
        lock (_gate)
        {
            foreach (var root in _roots)
            {
                Watch(root);
            }
        }

        for (var i = 0; i < Math.Max(1, _options.HashWorkers); i++)
        {
            _tasks.Run("hash worker", HashWorkerAsync);
        }

        _tasks.Run("index writer", OutcomeWriterAsync);
        _tasks.Run("hash feeder", FeederLoopAsync);
        _tasks.Run("index maintenance", MaintenanceLoopAsync);
        _tasks.Run("index change watch", ChangeLoopAsync);
        _fullPassWanted = true;
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

                if (_fullPassWanted && Interlocked.CompareExchange(ref _fullPassQueued, 1, 0) == 0)
                {
                    // Counted as queued before the wish is cleared, so IsBusy never reads false in between.
                    Interlocked.Increment(ref _maintenancePending);
                    _fullPassWanted = false;
                    await EnqueueBackgroundAsync(
                        async t =>
                        {
                            Volatile.Write(ref _fullPassQueued, 0);
                            await ReconcileAllAsync(t).ConfigureAwait(false);
                        },
                        token).ConfigureAwait(false);
                }

                var quiet = now - Volatile.Read(ref _lastChangeTicks) >= _options.ChangeDelay.TotalMilliseconds;
                var overdue = now - Volatile.Read(ref _firstChangeTicks) >= MaxChangeDelay.TotalMilliseconds;
                if (!_changedPaths.IsEmpty && (quiet || overdue) && Interlocked.CompareExchange(ref _changePassQueued, 1, 0) == 0)
                {
                    Interlocked.Increment(ref _maintenancePending);
                    await EnqueueBackgroundAsync(
                        t =>
                        {
                            Volatile.Write(ref _changePassQueued, 0);
                            var paths = _changedPaths.Keys.ToList();
                            foreach (var path in paths)
                            {
                                _changedPaths.TryRemove(path, out _);
                            }

                            return ReconcileChangesAsync(paths, t);
                        },
                        token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Feeds rows waiting for hashing from the index to the hash workers. The index is the queue: reconciles only
    /// write rows and signal, so sharing and unsharing never wait for hashing, and pending work survives a crash.
    /// </summary>
    private async Task FeederLoopAsync()
    {
        var token = _stopping.Token;
        try
        {
            while (await _feedSignal.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                Volatile.Write(ref _feeding, 1);
                _feedSignal.Reader.TryRead(out _);
                try
                {
                    long after = 0;
                    _storedThisSweep.Clear();
                    while (true)
                    {
                        var batch = await Task.Run(() => _db.LoadPending(after, 256), token).ConfigureAwait(false);
                        if (batch.Count == 0)
                        {
                            break;
                        }

                        var roots = SnapshotRoots();
                        foreach (var row in batch)
                        {
                            after = row.Id;
                            if (roots.FirstOrDefault(r => r.Id == row.RootId) is not { } root)
                            {
                                continue;
                            }

                            var job = new HashJob(row.Id, root.Id, root.LocalPath(row.StoredPath), row.Size, row.Modified, row.PreviousError is not null);
                            if (!_queued.TryAdd(row.Id, job))
                            {
                                if (_queued.TryGetValue(row.Id, out var older) && (older.Size, older.Modified) != (row.Size, row.Modified))
                                {
                                    _refeed[row.Id] = 0;
                                }

                                continue;
                            }

                            // Checked after claiming the row: a result stored between this batch's read and now wins.
                            if (_storedThisSweep.TryGetValue(row.Id, out var stored) && stored == (row.Size, row.Modified))
                            {
                                _queued.TryRemove(KeyValuePair.Create(row.Id, job));
                                continue;
                            }

                            await _hashJobs.Writer.WriteAsync(job, token).ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException and not ChannelClosedException)
                {
                    _log.Write(NodeLogLevel.Error, $"could not read files waiting for hashing: {e.Message}; trying again shortly");
                    await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                    SignalFeeder();
                }
                finally
                {
                    Volatile.Write(ref _feeding, 0);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    private async Task HashWorkerAsync()
    {
        var token = _stopping.Token;
        try
        {
            await foreach (var job in _hashJobs.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                HashOutcome? outcome = null;
                try
                {
                    if (!StillShared(job))
                    {
                        // Unpublished while it waited: not read at all.
                        Release(job);
                        continue;
                    }

                    var digest = await FileHasher.HashAsync(job.FullPath, job.Size, job.Modified, token).ConfigureAwait(false);
                    Counters.Hashed(job.Size);
                    outcome = new HashOutcome(job.Id, job.Size, job.Modified, digest, null);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception e) when (e is FileChangedException or FileNotFoundException or DirectoryNotFoundException)
                {
                    // Changed, renamed or deleted since it was found: the change notification or the next pass sees to it.
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Counters.Unreadable();
                    if (!job.WasUnreadable)
                    {
                        _log.Write(NodeLogLevel.Warning, $"cannot read '{job.FullPath}': {e.Message}; it is not shared until it can be read");
                    }

                    outcome = new HashOutcome(job.Id, job.Size, job.Modified, null, e.Message);
                }
                catch (Exception e)
                {
                    _log.Write(NodeLogLevel.Error, $"hashing '{job.FullPath}' failed: {e.Message}");
                    outcome = new HashOutcome(job.Id, job.Size, job.Modified, null, e.Message);
                }

                if (outcome is null)
                {
                    Release(job);
                }
                else
                {
                    await _outcomes.Writer.WriteAsync((job, outcome), token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    /// <summary>Stores hashing outcomes in batches: one transaction per batch keeps 100,000 small files fast.</summary>
    private async Task OutcomeWriterAsync()
    {
        var batch = new List<(HashJob Job, HashOutcome Outcome)>(OutcomeBatch);
        var reader = _outcomes.Reader;
        var token = _stopping.Token;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (batch.Count < OutcomeBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                var outcomes = batch.Select(b => b.Outcome).ToList();
                var stored = await StoreWithRetryAsync(outcomes, token).ConfigureAwait(false);
                foreach (var (job, _) in batch)
                {
                    if (stored.Contains(job.Id))
                    {
                        _storedThisSweep[job.Id] = (job.Size, job.Modified);
                    }
                    else
                    {
                        // The file changed while it was hashed: its row waits again.
                        _refeed[job.Id] = 0;
                    }

                    Release(job);
                }

                _progress = null;
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping: keep what was already hashed, so a normal restart does not read it again.
            while (reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                _db.StoreResults([.. batch.Select(b => b.Outcome)]);
            }
            catch (Exception e)
            {
                _log.Write(NodeLogLevel.Verbose, $"{batch.Count} hash result(s) not kept at stop ({e.Message}); they are hashed again at the next start");
            }
        }
    }

    /// <summary>Stores results, retrying (disk full, I/O error) until it works or the index stops: hashes are never thrown away.</summary>
    private async Task<HashSet<long>> StoreWithRetryAsync(List<HashOutcome> outcomes, CancellationToken token)
    {
        for (var failures = 0; ; failures++)
        {
            try
            {
                return await Task.Run(() => _db.StoreResults(outcomes), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (failures == 0)
                {
                    _log.Write(NodeLogLevel.Error, $"could not store {outcomes.Count} hash result(s): {e.Message}; retrying every {RetryDelay.TotalSeconds:0} s");
                }

                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
            }
        }
    }

    private bool StillShared(HashJob job)
    {
        if (!SnapshotRoots().Any(r => r.Id == job.RootId))
        {
            return false;
        }

        lock (_gate)
        {
            return !_excludedPaths.Any(excluded => ShareRoot.Contains(excluded, job.FullPath));
        }
    }

    private void SignalFeeder()
    {
        _feedSignal.Writer.TryWrite(true);
        Interlocked.Increment(ref _rewinds);
    }

    /// <summary>A job leaves the queue; if the feeder skipped its row meanwhile (it changed), the feeder looks again.</summary>
    private void Release(HashJob job)
    {
        if (_refeed.TryRemove(job.Id, out _))
        {
            SignalFeeder();
        }

        _queued.TryRemove(KeyValuePair.Create(job.Id, job));
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
        try
        {
            await _maintenance.Writer.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _maintenancePending);
            throw;
        }

        await job.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a pass nobody waits for; the caller has already counted it in <see cref="_maintenancePending"/>.</summary>
    private async Task EnqueueBackgroundAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        try
        {
            await _maintenance.Writer.WriteAsync(new MaintenanceJob(work, Awaited: false), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _maintenancePending);
            throw;
        }
    }

    private async Task ReconcileAllAsync(CancellationToken token)
    {
        long linksSkipped = 0;
        foreach (var root in SnapshotRoots())
        {
            linksSkipped += await ReconcileAsync(root, string.Empty, token).ConfigureAwait(false);
        }

        Counters.FullPassDone(linksSkipped);
    }

    private async Task ReconcileChangesAsync(IReadOnlyList<string> paths, CancellationToken token)
    {
        try
        {
            await ReconcilePathsAsync(paths, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The paths were taken off the list; a full pass makes sure their changes are not lost.
            _fullPassWanted = true;
            throw;
        }
    }

    private async Task ReconcilePathsAsync(IReadOnlyList<string> paths, CancellationToken token)
    {
        var roots = SnapshotRoots();
        var scopes = new HashSet<(ShareRoot Root, string Scope)>();
        foreach (var path in paths)
        {
            foreach (var root in roots)
            {
                if (root.StoredPath(path) is { } stored)
                {
                    scopes.Add((root, root.IsFile ? string.Empty : stored));
                }
            }
        }

        // A folder scope covers the paths below it.
        foreach (var (root, scope) in scopes)
        {
            var covered = scopes.Any(other => other.Root == root && other.Scope != scope
                && (other.Scope.Length == 0 || scope.StartsWith(other.Scope + "/", StringComparison.Ordinal)));
            if (!covered)
            {
                await ReconcileAsync(root, scope, token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Compares a root (or the part of it at <paramref name="scope"/>) with the disk: unchanged files (same size and
    /// last-write time) are left alone, new and changed ones wait for hashing, vanished ones are removed. Rows below a
    /// folder that could not be read, or of a root that is not reachable (an unplugged disk), are kept as they are,
    /// so nothing is hashed again when it comes back. Returns the links skipped.
    /// </summary>
    private async Task<long> ReconcileAsync(ShareRoot root, string scope, CancellationToken token)
    {
        HashSet<string> excludedPaths;
        lock (_gate)
        {
            excludedPaths = _excludedPaths;
        }

        var scanner = new ShareScanner(
            _excludeNames,
            excludedPaths,
            _stateDirectory,
            message => _log.Write(NodeLogLevel.Verbose, message),
            WarnOnce);
        var stored = await Task.Run(() => _db.LoadFiles(root.Id, scope), token).ConfigureAwait(false);
        var added = new List<DiskFile>();
        var changed = new List<(long, DiskFile)>();
        var retry = new List<long>();
        long unchanged = 0;
        var pending = false;
        foreach (var file in scanner.Scan(root, scope, token))
        {
            if (stored.Remove(file.StoredPath, out var row))
            {
                if (row.Size != file.Size || row.Modified != file.Modified)
                {
                    changed.Add((row.Id, file));
                }
                else if (row.State == SharedFileState.Ready)
                {
                    unchanged++;
                }
                else if (row.State == SharedFileState.Unreadable)
                {
                    retry.Add(row.Id);
                }
                else
                {
                    // Interrupted before it was hashed (a stop or a crash): the feeder picks it up.
                    pending = true;
                }
            }
            else
            {
                added.Add(file);
            }

            if (added.Count + changed.Count + retry.Count >= ReconcileBatch)
            {
                await FlushAsync([]).ConfigureAwait(false);
            }
        }

        if (scanner.RootUnreachable)
        {
            if (_unreachableRoots.TryAdd(root.Id, 0))
            {
                _log.Write(NodeLogLevel.Warning, $"shared '{root.FullPath}' is not reachable; its {stored.Count} indexed file(s) are kept until it is back");
            }

            return 0;
        }

        _unreachableRoots.TryRemove(root.Id, out _);
        var removed = stored
            .Where(entry => !scanner.UnreadableFolders.Any(folder => folder.Length == 0 || entry.Key.StartsWith(folder + "/", StringComparison.Ordinal)))
            .Select(entry => entry.Value.Id)
            .ToList();
        await FlushAsync(removed).ConfigureAwait(false);
        if (pending)
        {
            SignalFeeder();
        }

        Counters.Unchanged(unchanged);
        Counters.Reconciled();
        _progress = null;
        return scanner.LinksSkipped;

        async Task FlushAsync(List<long> removedIds)
        {
            var batchAdded = added.ToList();
            var batchChanged = changed.ToList();
            var batchRetry = retry.ToList();
            added.Clear();
            changed.Clear();
            retry.Clear();
            await Task.Run(() => _db.ApplyChanges(root.Id, batchAdded, batchChanged, batchRetry, removedIds), token).ConfigureAwait(false);
            if (batchAdded.Count + batchChanged.Count + batchRetry.Count > 0)
            {
                SignalFeeder();
            }

            if (removedIds.Count > 0)
            {
                _log.Write(NodeLogLevel.Verbose, $"{removedIds.Count} file(s) no longer in '{root.FullPath}'");
            }
        }
    }

    private async Task PublishOneAsync(string path, bool isFile, CancellationToken token)
    {
        ShareRoot? container;
        bool wasExcluded;
        lock (_gate)
        {
            container = _roots.FirstOrDefault(r => r.StoredPath(path) is not null);
            wasExcluded = _excludedPaths.Contains(path);
        }

        if (container is not null)
        {
            string? excludedAbove;
            lock (_gate)
            {
                excludedAbove = _excludedPaths.FirstOrDefault(excluded => !ShareRoot.PathComparer.Equals(excluded, path) && ShareRoot.Contains(excluded, path));
            }

            if (excludedAbove is not null)
            {
                throw new ArgumentException($"'{path}' is inside '{excludedAbove}', which was unpublished; publish that folder again (or exclude what you do not want with -Exclude)");
            }

            if (wasExcluded)
            {
                SetExcluded(path, excluded: false);
                await ReconcileAsync(container, container.StoredPath(path)!, token).ConfigureAwait(false);
            }
            else
            {
                _log.Write(NodeLogLevel.Verbose, $"'{path}' is already shared (in '{container.FullPath}')");
            }

            return;
        }

        var root = _db.AddRoot(path, isFile);
        lock (_gate)
        {
            _roots = [.. _roots, root];
        }

        // A new folder that holds roots shared before takes over their files (hashed already, so not read again);
        // paths unpublished inside them stay unpublished.
        foreach (var inner in SnapshotRoots().Where(r => r.Id != root.Id && ShareRoot.Contains(path, r.FullPath)))
        {
            AbsorbRoot(inner, root);
        }

        Watch(root);
        _log.Write(NodeLogLevel.Information, $"sharing '{path}'");
        await ReconcileAsync(root, string.Empty, token).ConfigureAwait(false);
    }

    private async Task UnpublishOneAsync(string path, CancellationToken token)
    {
        var roots = SnapshotRoots();
        var removedRoots = roots.Where(r => ShareRoot.Contains(path, r.FullPath)).ToList();
        foreach (var root in removedRoots)
        {
            RemoveRoot(root, keepExclusions: false);
            _log.Write(NodeLogLevel.Information, $"no longer sharing '{root.FullPath}'");
        }

        if (removedRoots.Count > 0)
        {
            return;
        }

        var container = roots.FirstOrDefault(r => r.StoredPath(path) is not null)
            ?? throw new ArgumentException($"'{path}' is not shared by this node");
        SetExcluded(path, excluded: true);
        _log.Write(NodeLogLevel.Information, $"no longer sharing '{path}' (inside '{container.FullPath}')");
        await ReconcileAsync(container, container.StoredPath(path)!, token).ConfigureAwait(false);
    }

    private void ReplaceRoots(IReadOnlyList<(string Path, bool IsFile)> requested)
    {
        // A requested path inside another requested folder adds nothing.
        var wanted = requested
            .Where(p => !requested.Any(other => other.Path != p.Path && !other.IsFile && ShareRoot.Contains(other.Path, p.Path)))
            .Distinct()
            .ToList();
        foreach (var (path, isFile) in wanted.Where(w => !SnapshotRoots().Any(r => r.FullPath == w.Path && r.IsFile == w.IsFile)))
        {
            var root = _db.AddRoot(path, isFile);
            lock (_gate)
            {
                _roots = [.. _roots, root];
            }
        }

        var kept = SnapshotRoots().Where(r => wanted.Contains((r.FullPath, r.IsFile))).ToList();
        foreach (var root in SnapshotRoots().Where(r => !wanted.Contains((r.FullPath, r.IsFile))))
        {
            if (kept.FirstOrDefault(k => !k.IsFile && ShareRoot.Contains(k.FullPath, root.FullPath)) is { } outer)
            {
                AbsorbRoot(root, outer);
            }
            else
            {
                RemoveRoot(root, keepExclusions: false);
            }
        }
    }

    /// <summary>Hands a root's files (and the paths unpublished in it) to a shared folder that holds it.</summary>
    private void AbsorbRoot(ShareRoot inner, ShareRoot outer)
    {
        _db.MergeRoot(inner, outer);
        lock (_gate)
        {
            _roots = [.. _roots.Where(r => r.Id != inner.Id)];
        }

        Unwatch(inner);
    }

    private void RemoveRoot(ShareRoot root, bool keepExclusions)
    {
        _db.RemoveRoot(root.Id);
        lock (_gate)
        {
            _roots = [.. _roots.Where(r => r.Id != root.Id)];
        }

        Unwatch(root);

        if (!keepExclusions)
        {
            foreach (var excluded in _excludedPaths.Where(p => ShareRoot.Contains(root.FullPath, p)).ToList())
            {
                SetExcluded(excluded, excluded: false);
            }
        }
    }

    private void SetExcluded(string path, bool excluded)
    {
        _db.SetExcluded(path, excluded);
        lock (_gate)
        {
            var copy = new HashSet<string>(_excludedPaths, ShareRoot.PathComparer);
            if (excluded)
            {
                copy.Add(path);
            }
            else
            {
                copy.Remove(path);
            }

            _excludedPaths = copy;
        }
    }

    private List<ShareRoot> SnapshotRoots()
    {
        lock (_gate)
        {
            return _roots;
        }
    }

    // ---- change notifications ----

    private static string WatchKey(ShareRoot root) => root.IsFile ? Path.GetDirectoryName(root.FullPath)! + Path.DirectorySeparatorChar + "*" : root.FullPath;

    private void Watch(ShareRoot root)
    {
        var key = WatchKey(root);
        lock (_watchers)
        {
            if (_watchers.TryGetValue(key, out var shared))
            {
                shared.Roots.Add(root.Id);
                return;
            }
        }

        FileSystemWatcher watcher;
        try
        {
            // Single files are watched through their folder, not recursively; changes to other files there are ignored
            // when the changed paths are matched to roots.
            watcher = root.IsFile
                ? new FileSystemWatcher(Path.GetDirectoryName(root.FullPath)!)
                : new FileSystemWatcher(root.FullPath) { IncludeSubdirectories = true };
            watcher.NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.Size | NotifyFilters.LastWrite;
            watcher.InternalBufferSize = 64 * 1024;
            watcher.Created += OnChanged;
            watcher.Changed += OnChanged;
            watcher.Deleted += OnChanged;
            watcher.Renamed += OnRenamed;
            watcher.Error += OnWatchError;
            watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            WarnOnce($"cannot watch '{root.FullPath}' for changes ({e.Message}); its changes are picked up by the periodic reconcile");
            return;
        }

        lock (_watchers)
        {
            if (_stopping.IsCancellationRequested)
            {
                watcher.Dispose();
                return;
            }

            if (_watchers.TryGetValue(key, out var raced))
            {
                raced.Roots.Add(root.Id);
                watcher.Dispose();
                return;
            }

            _watchers.Add(key, (watcher, [root.Id]));
        }
    }

    private void Unwatch(ShareRoot root)
    {
        lock (_watchers)
        {
            var key = WatchKey(root);
            if (_watchers.TryGetValue(key, out var entry) && entry.Roots.Remove(root.Id) && entry.Roots.Count == 0)
            {
                _watchers.Remove(key);
                entry.Watcher.Dispose();
            }
        }
    }

    /// <summary>Watchers in use (one per shared folder, one per folder holding shared single files).</summary>
    internal int WatcherCount
    {
        get
        {
            lock (_watchers)
            {
                return _watchers.Count;
            }
        }
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => NoteChange(e.FullPath);

    private void OnRenamed(object sender, RenamedEventArgs e)
    {
        NoteChange(e.OldFullPath);
        NoteChange(e.FullPath);
    }

    private void OnWatchError(object sender, ErrorEventArgs e)
    {
        Counters.NotificationOverflow();
        _log.Write(NodeLogLevel.Verbose, $"change notifications were lost ({e.GetException().Message}); reconciling every share");
        _fullPassWanted = true;
    }

    private void NoteChange(string path)
    {
        Counters.ChangeNotified();
        var now = Environment.TickCount64;
        if (_changedPaths.IsEmpty)
        {
            Volatile.Write(ref _firstChangeTicks, now);
        }

        // Bounded: past this many distinct paths one full pass is cheaper than tracking them.
        if (_changedPaths.Count < 10_000)
        {
            _changedPaths.TryAdd(path, 0);
        }
        else
        {
            _fullPassWanted = true;
        }

        Volatile.Write(ref _lastChangeTicks, now);
    }

    private SharedFile? ToSharedFile(IndexedFile file)
    {
        var root = SnapshotRoots().FirstOrDefault(r => r.Id == file.RootId);
        return root is null
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

    /// <summary>Checks a path can be shared: it exists and neither is nor holds the node's state folder.</summary>
    private static (string Path, bool IsFile) CheckShareable(string path, string stateDirectory)
    {
        var full = ShareRoot.Normalize(path);
        var isFile = File.Exists(full);
        if (!isFile && !Directory.Exists(full))
        {
            throw new FileNotFoundException($"cannot share '{path}': no such file or folder");
        }

        if (ShareRoot.Contains(full, stateDirectory) || ShareRoot.Contains(stateDirectory, full))
        {
            throw new ArgumentException($"cannot share '{path}': it holds the node's state folder '{stateDirectory}', and nothing is ever written into a shared folder");
        }

        return (full, isFile);
    }

    private sealed record MaintenanceJob(Func<CancellationToken, Task> Work, bool Awaited)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed record HashJob(long Id, long RootId, string FullPath, long Size, long Modified, bool WasUnreadable);

    private sealed record CachedProgress(IndexProgress Value, long Ticks);
}

