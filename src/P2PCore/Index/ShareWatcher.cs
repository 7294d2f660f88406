using System.Collections.Concurrent;

namespace P2PTransfer.Index;

/// <summary>
/// Change notifications for the shared roots, gathered as a set of changed paths. One watcher per shared folder, and
/// one per folder holding shared single files (Linux gives each user only 128 inotify instances, so a watcher per
/// published file would run out).
/// </summary>
internal sealed class ShareWatcher(IndexCounters counters, Action<string> warnOnce, Action<string> trace, Action fullPassNeeded) : IDisposable
{
    // Past this many distinct paths one full pass is cheaper than tracking them.
    private const int MaxTrackedPaths = 10_000;

    private readonly ConcurrentDictionary<string, byte> _changedPaths = new();
    private readonly Dictionary<string, (FileSystemWatcher Watcher, HashSet<long> Roots)> _watchers = new(ShareRoot.PathComparer);
    private long _lastChangeTicks;
    private long _firstChangeTicks;
    private bool _disposed;

    /// <summary>Changes were noted that no pass has taken yet.</summary>
    public bool HasChanges => !_changedPaths.IsEmpty;

    /// <summary>Watchers in use.</summary>
    public int Count
    {
        get
        {
            lock (_watchers)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>
    /// True when the noted changes should be looked at: after <paramref name="quietFor"/> without a new one, or at the
    /// latest <paramref name="atMost"/> after the first, so a file written without pause cannot hold back the others.
    /// </summary>
    public bool IsDue(long now, TimeSpan quietFor, TimeSpan atMost) =>
        HasChanges
        && (now - Volatile.Read(ref _lastChangeTicks) >= quietFor.TotalMilliseconds
            || now - Volatile.Read(ref _firstChangeTicks) >= atMost.TotalMilliseconds);

    /// <summary>Takes the paths noted so far off the set.</summary>
    public List<string> TakeChanges()
    {
        var paths = _changedPaths.Keys.ToList();
        foreach (var path in paths)
        {
            _changedPaths.TryRemove(path, out _);
        }

        return paths;
    }

    public void Watch(ShareRoot root)
    {
        var key = KeyOf(root);
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
            watcher.Error += OnError;
            watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            warnOnce($"cannot watch '{root.FullPath}' for changes ({e.Message}); its changes are picked up by the periodic reconcile");
            return;
        }

        lock (_watchers)
        {
            if (_disposed)
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

    public void Unwatch(ShareRoot root)
    {
        lock (_watchers)
        {
            var key = KeyOf(root);
            if (_watchers.TryGetValue(key, out var entry) && entry.Roots.Remove(root.Id) && entry.Roots.Count == 0)
            {
                _watchers.Remove(key);
                entry.Watcher.Dispose();
            }
        }
    }

    public void Dispose()
    {
        lock (_watchers)
        {
            _disposed = true;
            foreach (var (watcher, _) in _watchers.Values)
            {
                watcher.Dispose();
            }

            _watchers.Clear();
        }
    }

    private static string KeyOf(ShareRoot root) =>
        root.IsFile ? Path.GetDirectoryName(root.FullPath)! + Path.DirectorySeparatorChar + "*" : root.FullPath;

    private void OnChanged(object sender, FileSystemEventArgs e) => Note(e.FullPath);

    private void OnRenamed(object sender, RenamedEventArgs e)
    {
        Note(e.OldFullPath);
        Note(e.FullPath);
    }

    private void OnError(object sender, ErrorEventArgs e)
    {
        counters.NotificationOverflow();
        trace($"change notifications were lost ({e.GetException().Message}); reconciling every share");
        fullPassNeeded();
    }

    private void Note(string path)
    {
        counters.ChangeNotified();
        var now = Environment.TickCount64;
        if (_changedPaths.IsEmpty)
        {
            Volatile.Write(ref _firstChangeTicks, now);
        }

        if (_changedPaths.Count < MaxTrackedPaths)
        {
            _changedPaths.TryAdd(path, 0);
        }
        else
        {
            fullPassNeeded();
        }

        Volatile.Write(ref _lastChangeTicks, now);
    }
}
