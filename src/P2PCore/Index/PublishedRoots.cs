using P2PTransfer.Common;

namespace P2PTransfer.Index;

/// <summary>
/// The roots the index shares and the paths unpublished inside them: publishing and unpublishing change them here,
/// in the database and in the watchers together. Changed only at open and on the maintenance loop; readers take
/// <see cref="Current"/>, an immutable value.
/// </summary>
internal sealed class PublishedRoots(IndexDatabase db, ShareWatcher watcher, NodeLog log)
{
    private volatile RootSet _current = new(db.LoadRoots(), db.LoadExcludedPaths());

    public RootSet Current => _current;

    /// <summary>Watches every root (at start).</summary>
    public void WatchAll()
    {
        foreach (var root in _current.All)
        {
            watcher.Watch(root);
        }
    }

    /// <summary>Makes the shares exactly the requested ones (at open); roots inside a requested folder hand it their files.</summary>
    public void Replace(IReadOnlyList<(string Path, bool IsFile)> requested)
    {
        var wanted = RootSet.Wanted(requested);
        foreach (var (path, isFile) in _current.Missing(wanted))
        {
            Add(path, isFile);
        }

        foreach (var (root, outer) in _current.Unwanted(wanted))
        {
            if (outer is not null)
            {
                Absorb(root, outer);
            }
            else
            {
                Remove(root);
            }
        }
    }

    /// <summary>
    /// Shares a path: a new root, or a path unpublished inside a shared folder shared again. Returns the part of a
    /// root to compare with the disk now; null when the path was shared already.
    /// </summary>
    public (ShareRoot Root, string Scope)? Publish(string path, bool isFile)
    {
        var current = _current;
        if (current.ContainerOf(path) is { } container)
        {
            if (current.ExcludedAbove(path) is { } excludedAbove)
            {
                throw new ArgumentException($"'{path}' is inside '{excludedAbove}', which was unpublished; publish that folder again (or exclude what you do not want with -Exclude)");
            }

            if (current.ExcludedPaths.Contains(path))
            {
                SetExcluded(path, excluded: false);
                return (container, container.StoredPath(path)!);
            }

            log.Write(NodeLogLevel.Verbose, $"'{path}' is already shared (in '{container.FullPath}')");
            return null;
        }

        var root = Add(path, isFile);

        // A new folder that holds roots shared before takes over their files (hashed already, so not read again);
        // paths unpublished inside them stay unpublished.
        foreach (var inner in _current.RootsInside(path).Where(r => r.Id != root.Id))
        {
            Absorb(inner, root);
        }

        watcher.Watch(root);
        log.Write(NodeLogLevel.Information, $"sharing '{path}'");
        return (root, string.Empty);
    }

    /// <summary>
    /// Stops sharing a path: the roots it holds are dropped; a path inside a shared folder is unpublished. Returns the
    /// part of a root to compare with the disk now; null when roots were dropped.
    /// </summary>
    public (ShareRoot Root, string Scope)? Unpublish(string path)
    {
        var current = _current;
        var removedRoots = current.RootsInside(path);
        foreach (var root in removedRoots)
        {
            Remove(root);
            log.Write(NodeLogLevel.Information, $"no longer sharing '{root.FullPath}'");
        }

        if (removedRoots.Count > 0)
        {
            return null;
        }

        var container = current.ContainerOf(path) ?? throw new ArgumentException($"'{path}' is not shared by this node");
        SetExcluded(path, excluded: true);
        log.Write(NodeLogLevel.Information, $"no longer sharing '{path}' (inside '{container.FullPath}')");
        return (container, container.StoredPath(path)!);
    }

    private ShareRoot Add(string path, bool isFile)
    {
        var root = db.AddRoot(path, isFile);
        _current = _current.With(root);
        return root;
    }

    /// <summary>Hands a root's files (and the paths unpublished in it) to a shared folder that holds it.</summary>
    private void Absorb(ShareRoot inner, ShareRoot outer)
    {
        db.MergeRoot(inner, outer);
        Forget(inner);
    }

    /// <summary>Drops a root with its files; the paths unpublished inside it are forgotten too.</summary>
    private void Remove(ShareRoot root)
    {
        db.RemoveRoot(root.Id);
        Forget(root);
        foreach (var excluded in _current.ExcludedInside(root.FullPath))
        {
            SetExcluded(excluded, excluded: false);
        }
    }

    private void Forget(ShareRoot root)
    {
        _current = _current.Without(root);
        watcher.Unwatch(root);
    }

    private void SetExcluded(string path, bool excluded)
    {
        db.SetExcluded(path, excluded);
        _current = _current.WithExcluded(path, excluded);
    }
}
