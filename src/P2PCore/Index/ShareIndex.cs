using System.Collections.Concurrent;
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

    private readonly IndexDatabase _db;
    private readonly IndexOptions _options;
    private readonly NodeLog _log;
    private readonly string _stateDirectory;
    private readonly BackgroundTasks _tasks;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashPipeline _hashing;
    private readonly ShareWatcher _watcher;
    private readonly ConcurrentDictionary<string, byte> _warned = new();
    private readonly PublishedRoots _roots;
    private readonly ShareReconciler _reconciler;
    private readonly MaintenanceQueue _maintenance;
    private int _disposed;
    private volatile CachedProgress? _progress;

    private ShareIndex(IndexDatabase db, IndexOptions options, NodeLog log, string stateDirectory, IReadOnlyList<Wildcard> excludeNames)
    {
        _db = db;
        _options = options;
        _log = log;
        _stateDirectory = stateDirectory;
        _tasks = new BackgroundTasks(log);
        _watcher = new ShareWatcher(Counters, WarnOnce, message => _log.Write(NodeLogLevel.Verbose, message), WantFullPass);
        _roots = new PublishedRoots(db, _watcher, log);
        _hashing = new HashPipeline(db, log, Counters, () => _roots.Current.ById, job => _roots.Current.StillShares(job.RootId, job.FullPath), () => _progress = null, options.PieceRead);
        var newScanner = () => new ShareScanner(excludeNames, _roots.Current.ExcludedPaths, stateDirectory, message => _log.Write(NodeLogLevel.Verbose, message), WarnOnce);
        _reconciler = new ShareReconciler(db, _roots, newScanner, Counters, log, _hashing.Signal, () => _progress = null);
        _maintenance = new MaintenanceQueue(_watcher, _hashing, options, log, _reconciler.ReconcileAllAsync, _reconciler.ReconcilePathsAsync, () => _progress = null, _stopping.Token);
    }

    public IndexCounters Counters { get; } = new();

    /// <summary>The shared folders and files.</summary>
    public IReadOnlyList<string> Roots => [.. _roots.Current.All.Select(r => r.FullPath)];

    /// <summary>True while a reconcile is queued or running, or files wait for hashing.</summary>
    public bool IsBusy => _maintenance.IsBusy;

    /// <summary>Watchers in use (one per shared folder, one per folder holding shared single files).</summary>
    internal int WatcherCount => _watcher.Count;

    /// <summary>
    /// Opens the index in <paramref name="stateDirectory"/>, applies the share list and starts the first reconcile
    /// in the background. Throws <see cref="ArgumentException"/> for a share that does not exist or holds the state folder.
    /// </summary>
    internal static ShareIndex Open(string stateDirectory, IndexOptions options, NodeLog log)
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
        return _maintenance.RunAsync(async token =>
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
        return _maintenance.RunAsync(async token =>
        {
            foreach (var path in fullPaths)
            {
                await UnpublishOneAsync(path, token).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>Compares every root with the disk now, and returns when that pass has been applied.</summary>
    public Task ReconcileAsync(CancellationToken cancellationToken = default) => _maintenance.RunAsync(_reconciler.ReconcileAllAsync, cancellationToken);

    /// <summary>Waits until reconciles are done and every file found has been hashed (or found unreadable).</summary>
    public Task WaitIdleAsync(CancellationToken cancellationToken) => _maintenance.WaitIdleAsync(cancellationToken);

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
            if (!_maintenance.HasJobs
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

    /// <summary>Every shared file (any state) at or below one of the given paths.</summary>
    public IEnumerable<SharedFile> GetFilesBelow(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        var folders = paths.ToList();
        return GetFiles(cancellationToken: cancellationToken).Where(f => folders.Any(p => ShareRoot.Contains(p, f.FullName)));
    }

    /// <summary>The extensions that hashed shared files have, the most common first (lower case, without the dot).</summary>
    public IReadOnlyList<string> SharedExtensions(int limit = 100) => _db.SharedExtensions(limit);

    /// <summary>Hashed files matching every criterion of the query.</summary>
    public IEnumerable<SharedFile> Search(FileQuery query, int maxResults = int.MaxValue, CancellationToken cancellationToken = default) =>
        Search(query.Compile(), maxResults, cancellationToken);

    /// <summary>Runs a query compiled already (one compiled query serves one search: it keeps the pattern's time budget).</summary>
    internal IEnumerable<SharedFile> Search(CompiledQuery query, int maxResults = int.MaxValue, CancellationToken cancellationToken = default) =>
        _db.Search(query, _roots.Current.ById, maxResults, cancellationToken).Select(ToSharedFile).OfType<SharedFile>();

    /// <summary>Where a hashed file is, and its piece hashes; null when no shared file has this content.</summary>
    internal (SharedFile File, FileDigest Digest)? FindByHash(string hash)
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
        _maintenance.Complete();
        _hashing.Complete();
        if (!await _tasks.WaitAllAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
        {
            _log.Write(NodeLogLevel.Warning, "index tasks did not stop within 10 s");
        }

        _db.Dispose();
    }

    // ---- start-up and callbacks ----

    private void Start()
    {
        _roots.WatchAll();
        _hashing.Start(_tasks, _options.HashWorkers, _stopping.Token);
        _maintenance.Start(_tasks);
    }

    /// <summary>Change notifications were lost (called by the watcher, so only once the index has started).</summary>
    private void WantFullPass() => _maintenance.WantFullPass();

    /// <summary>A problem seen on every pass (an unreadable folder) is a warning the first time, then verbose.</summary>
    private void WarnOnce(string message)
    {
        var first = _warned.Count < 10_000 && _warned.TryAdd(message, 0);
        _log.Write(first ? NodeLogLevel.Warning : NodeLogLevel.Verbose, message);
    }

    // ---- maintenance work (runs on the maintenance loop only) ----

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
}

