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

    private readonly IndexDatabase _db;
    private readonly IndexOptions _options;
    private readonly NodeLog _log;
    private readonly string _stateDirectory;
    private readonly IReadOnlyList<Wildcard> _excludeNames;
    private readonly BackgroundTasks _tasks;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<MaintenanceJob> _maintenance = Channel.CreateBounded<MaintenanceJob>(new BoundedChannelOptions(64) { SingleReader = true });
    private readonly Channel<HashJob> _hashJobs;
    private readonly Channel<HashOutcome> _outcomes = Channel.CreateBounded<HashOutcome>(new BoundedChannelOptions(1024) { SingleReader = true });
    private readonly ConcurrentDictionary<long, HashJob> _queued = new();
    private readonly ConcurrentDictionary<string, byte> _changedPaths = new();
    private readonly Dictionary<long, FileSystemWatcher> _watchers = [];
    private readonly object _gate = new();
    private List<ShareRoot> _roots;
    private HashSet<string> _excludedPaths;
    private int _maintenanceRunning;
    private int _maintenanceQueued;
    private long _lastChangeTicks;
    private volatile bool _fullReconcileNeeded;
    private (IndexProgress Value, long Ticks)? _progress;

    private ShareIndex(IndexDatabase db, IndexOptions options, NodeLog log, string stateDirectory, IReadOnlyList<Wildcard> excludeNames)
    {
        _db = db;
        _options = options;
        _log = log;
        _stateDirectory = stateDirectory;
        _excludeNames = excludeNames;
        _tasks = new BackgroundTasks(log);
        _hashJobs = Channel.CreateBounded<HashJob>(new BoundedChannelOptions(1024));
        _roots = db.LoadRoots();
        _excludedPaths = db.LoadExcludedPaths();
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
    public bool IsBusy =>
        Volatile.Read(ref _maintenanceRunning) + Volatile.Read(ref _maintenanceQueued) > 0 || !_queued.IsEmpty || !_changedPaths.IsEmpty;

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

    /// <summary>Files and bytes hashed of all shared; the counts are read from the index at most once a second.</summary>
    public IndexProgress GetProgress()
    {
        var busy = IsBusy;
        var now = Environment.TickCount64;
        if (_progress is { } cached && (now - cached.Ticks < 1000 || _stopping.IsCancellationRequested))
        {
            return cached.Value with { Busy = busy };
        }

        if (_stopping.IsCancellationRequested)
        {
            return new IndexProgress(0, 0, 0, 0, 0);
        }

        var progress = _db.GetProgress();
        _progress = (progress, now);
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
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        lock (_watchers)
        {
            foreach (var watcher in _watchers.Values)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
        }

        _maintenance.Writer.TryComplete();
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
        _tasks.Run("index maintenance", MaintenanceLoopAsync);
        _tasks.Run("index change watch", ChangeLoopAsync);
        _ = RunMaintenanceAsync(ReconcileAllAsync, CancellationToken.None);
    }

    private async Task MaintenanceLoopAsync()
    {
        await foreach (var job in _maintenance.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            Interlocked.Increment(ref _maintenanceRunning);
            Interlocked.Decrement(ref _maintenanceQueued);
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
                Interlocked.Decrement(ref _maintenanceRunning);
            }
        }
    }

    /// <summary>Turns change notifications (after a quiet moment) and the periodic timer into reconciles.</summary>
    private async Task ChangeLoopAsync()
    {
        var token = _stopping.Token;
        var nextFullPass = DateTime.UtcNow + _options.ReconcileInterval;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                if (DateTime.UtcNow >= nextFullPass || _fullReconcileNeeded)
                {
                    _fullReconcileNeeded = false;
                    nextFullPass = DateTime.UtcNow + _options.ReconcileInterval;
                    _changedPaths.Clear();
                    await RunMaintenanceAsync(ReconcileAllAsync, token, awaited: false).ConfigureAwait(false);
                }
                else if (!_changedPaths.IsEmpty && Environment.TickCount64 - Volatile.Read(ref _lastChangeTicks) >= _options.ChangeDelay.TotalMilliseconds)
                {
                    var paths = _changedPaths.Keys.ToList();
                    foreach (var path in paths)
                    {
                        _changedPaths.TryRemove(path, out _);
                    }

                    await RunMaintenanceAsync(t => ReconcilePathsAsync(paths, t), token, awaited: false).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
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
                HashOutcome? outcome;
                try
                {
                    var digest = await FileHasher.HashAsync(job.File.FullPath, job.File.Size, token).ConfigureAwait(false);
                    Counters.Hashed(job.File.Size);
                    outcome = new HashOutcome(job.Id, job.File.Size, job.File.Modified, digest, null);
                }
                catch (FileChangedException)
                {
                    // Still being written: the change notification or the next reconcile queues it again.
                    outcome = null;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Counters.Unreadable();
                    if (job.PreviousState != SharedFileState.Unreadable)
                    {
                        _log.Write(NodeLogLevel.Warning, $"cannot read '{job.File.FullPath}': {e.Message}; it is not shared until it can be read");
                    }

                    outcome = new HashOutcome(job.Id, job.File.Size, job.File.Modified, null, e.Message);
                }

                if (outcome is null)
                {
                    _queued.TryRemove(job.Id, out _);
                }
                else
                {
                    await _outcomes.Writer.WriteAsync(outcome, token).ConfigureAwait(false);
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
        var batch = new List<HashOutcome>(OutcomeBatch);
        var reader = _outcomes.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                while (batch.Count < OutcomeBatch && reader.TryRead(out var outcome))
                {
                    batch.Add(outcome);
                }

                await Task.Run(() => _db.StoreResults(batch), CancellationToken.None).ConfigureAwait(false);
                foreach (var outcome in batch)
                {
                    _queued.TryRemove(outcome.Id, out _);
                }

                _progress = null;
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    // ---- maintenance work (runs on the maintenance loop only) ----

    private Task RunMaintenanceAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken, bool awaited = true)
    {
        var job = new MaintenanceJob(work, awaited);
        Interlocked.Increment(ref _maintenanceQueued);
        if (!_maintenance.Writer.TryWrite(job))
        {
            if (!awaited)
            {
                // A background pass when the queue is full: the passes already queued will see the same disk.
                Interlocked.Decrement(ref _maintenanceQueued);
                return Task.CompletedTask;
            }

            return WriteThenWaitAsync(job, cancellationToken);
        }

        return awaited ? job.Done.Task.WaitAsync(cancellationToken) : Task.CompletedTask;
    }

    private async Task WriteThenWaitAsync(MaintenanceJob job, CancellationToken cancellationToken)
    {
        try
        {
            await _maintenance.Writer.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _maintenanceQueued);
            throw;
        }

        await job.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ReconcileAllAsync(CancellationToken token)
    {
        foreach (var root in SnapshotRoots())
        {
            await ReconcileAsync(root, string.Empty, token).ConfigureAwait(false);
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
    /// last-write time) are left alone, new and changed ones are queued for hashing, vanished ones are removed.
    /// </summary>
    private async Task ReconcileAsync(ShareRoot root, string scope, CancellationToken token)
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
            message => _log.Write(NodeLogLevel.Warning, message));
        var stored = await Task.Run(() => _db.LoadFiles(root.Id, scope), token).ConfigureAwait(false);
        var added = new List<DiskFile>();
        var changed = new List<(long, DiskFile)>();
        var toHash = new List<(long Id, DiskFile File, SharedFileState State)>();
        long unchanged = 0;
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
                else
                {
                    // Interrupted before it was hashed (a stop or a crash), or unreadable last time: try again.
                    toHash.Add((row.Id, file, row.State));
                }
            }
            else
            {
                added.Add(file);
            }

            if (added.Count + changed.Count >= ReconcileBatch)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }

        await FlushAsync(stored.Values.Select(r => r.Id).ToList()).ConfigureAwait(false);
        foreach (var (id, file, state) in toHash)
        {
            await QueueHashAsync(id, file, state, token).ConfigureAwait(false);
        }

        Counters.Unchanged(unchanged);
        Counters.Reconciled(scanner.LinksSkipped);
        _progress = null;

        async Task FlushAsync(List<long>? removed = null)
        {
            var batchAdded = added.ToList();
            var batchChanged = changed.ToList();
            added.Clear();
            changed.Clear();
            var pending = await Task.Run(() => _db.ApplyChanges(root.Id, batchAdded, batchChanged, removed ?? []), token).ConfigureAwait(false);
            foreach (var (id, file) in pending)
            {
                await QueueHashAsync(id, file, SharedFileState.Hashing, token).ConfigureAwait(false);
            }

            if (removed is { Count: > 0 })
            {
                _log.Write(NodeLogLevel.Verbose, $"{removed.Count} file(s) no longer in '{root.FullPath}'");
            }
        }
    }

    private async Task QueueHashAsync(long id, DiskFile file, SharedFileState previousState, CancellationToken token)
    {
        var job = new HashJob(id, file, previousState);
        if (_queued.TryGetValue(id, out var queued) && queued.File.Size == file.Size && queued.File.Modified == file.Modified)
        {
            return;
        }

        _queued[id] = job;
        await _hashJobs.Writer.WriteAsync(job, token).ConfigureAwait(false);
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

        // A new folder that holds roots shared before replaces them.
        foreach (var inner in SnapshotRoots().Where(r => ShareRoot.Contains(path, r.FullPath)))
        {
            RemoveRoot(inner);
        }

        var root = _db.AddRoot(path, isFile);
        lock (_gate)
        {
            _roots = [.. _roots, root];
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
            RemoveRoot(root);
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
        foreach (var root in SnapshotRoots().Where(r => !wanted.Contains((r.FullPath, r.IsFile))))
        {
            RemoveRoot(root);
        }

        foreach (var (path, isFile) in wanted.Where(w => !SnapshotRoots().Any(r => r.FullPath == w.Path && r.IsFile == w.IsFile)))
        {
            var root = _db.AddRoot(path, isFile);
            lock (_gate)
            {
                _roots = [.. _roots, root];
            }
        }
    }

    private void RemoveRoot(ShareRoot root)
    {
        _db.RemoveRoot(root.Id);
        lock (_gate)
        {
            _roots = [.. _roots.Where(r => r.Id != root.Id)];
        }

        lock (_watchers)
        {
            if (_watchers.Remove(root.Id, out var watcher))
            {
                watcher.Dispose();
            }
        }

        foreach (var excluded in _excludedPaths.Where(p => ShareRoot.Contains(root.FullPath, p)).ToList())
        {
            SetExcluded(excluded, excluded: false);
        }
    }

    private void SetExcluded(string path, bool excluded)
    {
        _db.SetExcluded(path, excluded);
        lock (_gate)
        {
            var copy = new HashSet<string>(_excludedPaths);
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

    private void Watch(ShareRoot root)
    {
        FileSystemWatcher watcher;
        try
        {
            watcher = root.IsFile
                ? new FileSystemWatcher(Path.GetDirectoryName(root.FullPath)!, Path.GetFileName(root.FullPath))
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
            _log.Write(NodeLogLevel.Warning, $"cannot watch '{root.FullPath}' for changes ({e.Message}); changes are picked up by the periodic reconcile");
            return;
        }

        lock (_watchers)
        {
            if (_stopping.IsCancellationRequested)
            {
                watcher.Dispose();
                return;
            }

            _watchers.Add(root.Id, watcher);
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
        _fullReconcileNeeded = true;
    }

    private void NoteChange(string path)
    {
        Counters.ChangeNotified();
        if (_changedPaths.Count < 10_000)
        {
            _changedPaths.TryAdd(path, 0);
        }
        else
        {
            _fullReconcileNeeded = true;
        }

        Volatile.Write(ref _lastChangeTicks, Environment.TickCount64);
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

    private sealed record HashJob(long Id, DiskFile File, SharedFileState PreviousState);
}

