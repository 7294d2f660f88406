namespace P2PTransfer.Index;

/// <summary>
/// The published roots and the paths unpublished inside them, as one immutable value (a change makes a new one, so
/// readers need no lock), with the rules of how roots and paths overlap.
/// </summary>
internal sealed class RootSet
{
    public RootSet(IEnumerable<ShareRoot> roots, IEnumerable<string> excludedPaths)
        : this([.. roots], new HashSet<string>(excludedPaths, ShareRoot.PathComparer))
    {
    }

    private RootSet(IReadOnlyList<ShareRoot> roots, HashSet<string> excludedPaths)
    {
        All = roots;
        ById = roots.ToDictionary(r => r.Id);
        ExcludedPaths = excludedPaths;
    }

    private RootSet(IReadOnlyList<ShareRoot> roots, IReadOnlyDictionary<long, ShareRoot> byId, HashSet<string> excludedPaths)
    {
        All = roots;
        ById = byId;
        ExcludedPaths = excludedPaths;
    }

    public IReadOnlyList<ShareRoot> All { get; }

    public IReadOnlyDictionary<long, ShareRoot> ById { get; }

    /// <summary>Paths unpublished inside shared folders (compared as the file system does).</summary>
    public IReadOnlySet<string> ExcludedPaths { get; }

    public RootSet With(ShareRoot root) => new([.. All, root], (HashSet<string>)ExcludedPaths);

    public RootSet Without(ShareRoot root) => new([.. All.Where(r => r.Id != root.Id)], (HashSet<string>)ExcludedPaths);

    public RootSet WithExcluded(string path, bool excluded)
    {
        var copy = new HashSet<string>(ExcludedPaths, ShareRoot.PathComparer);
        if (excluded)
        {
            copy.Add(path);
        }
        else
        {
            copy.Remove(path);
        }

        return new RootSet(All, ById, copy);
    }

    /// <summary>The first root that shares <paramref name="fullPath"/> (a folder holding it, or the file itself); null when none does.</summary>
    public ShareRoot? ContainerOf(string fullPath) => All.FirstOrDefault(r => r.StoredPath(fullPath) is not null);

    /// <summary>An unpublished path that holds <paramref name="fullPath"/> (other than the path itself); null when none does.</summary>
    public string? ExcludedAbove(string fullPath) =>
        ExcludedPaths.FirstOrDefault(excluded => !ShareRoot.PathComparer.Equals(excluded, fullPath) && ShareRoot.Contains(excluded, fullPath));

    /// <summary>The roots that are <paramref name="fullPath"/> or lie below it.</summary>
    public List<ShareRoot> RootsInside(string fullPath) => [.. All.Where(r => ShareRoot.Contains(fullPath, r.FullPath))];

    /// <summary>The unpublished paths that are <paramref name="folder"/> or lie below it.</summary>
    public List<string> ExcludedInside(string folder) => [.. ExcludedPaths.Where(p => ShareRoot.Contains(folder, p))];

    /// <summary>False once the root of a file is gone or a path holding the file was unpublished.</summary>
    public bool StillShares(long rootId, string fullPath) =>
        ById.ContainsKey(rootId) && !ExcludedPaths.Any(excluded => ShareRoot.Contains(excluded, fullPath));

    /// <summary>
    /// The parts of roots that changed paths touch, each once: a changed file or folder inside a shared folder is
    /// looked at by its stored path, a shared single file whole; a folder's scope covers every path below it.
    /// </summary>
    public List<(ShareRoot Root, string Scope)> ChangedScopes(IEnumerable<string> fullPaths)
    {
        var scopes = new HashSet<(ShareRoot Root, string Scope)>();
        foreach (var path in fullPaths)
        {
            foreach (var root in All)
            {
                if (root.StoredPath(path) is { } stored)
                {
                    scopes.Add((root, root.IsFile ? string.Empty : stored));
                }
            }
        }

        return [.. scopes.Where(s => !scopes.Any(other => other.Root == s.Root && other.Scope != s.Scope && SharePaths.IsBelow(other.Scope, s.Scope)))];
    }

    /// <summary>The parts of roots that local paths cover (<see cref="SharePaths.ScopeOf"/>).</summary>
    public List<(ShareRoot Root, string Scope)> ScopesOf(IReadOnlyList<string> fullPaths) =>
        [.. All.SelectMany(root => fullPaths.Select(path => (Root: root, Scope: SharePaths.ScopeOf(root, path))))
            .Where(s => s.Scope is not null)
            .Select(s => (s.Root, s.Scope!))];

    /// <summary>The requested shares that count: a path inside another requested folder adds nothing.</summary>
    public static List<(string Path, bool IsFile)> Wanted(IReadOnlyList<(string Path, bool IsFile)> requested) =>
        [.. requested
            .Where(p => !requested.Any(other => other.Path != p.Path && !other.IsFile && ShareRoot.Contains(other.Path, p.Path)))
            .Distinct()];

    /// <summary>The wanted shares that are not roots yet.</summary>
    public List<(string Path, bool IsFile)> Missing(IReadOnlyList<(string Path, bool IsFile)> wanted) =>
        [.. wanted.Where(w => !All.Any(r => r.FullPath == w.Path && r.IsFile == w.IsFile))];

    /// <summary>
    /// What becomes of each root that is not wanted (in root order), once every wanted share is a root: a wanted
    /// folder that holds it takes over its files (Outer), else it is dropped (Outer null).
    /// </summary>
    public List<(ShareRoot Root, ShareRoot? Outer)> Unwanted(IReadOnlyList<(string Path, bool IsFile)> wanted)
    {
        var kept = All.Where(r => wanted.Contains((r.FullPath, r.IsFile))).ToList();
        return [.. All
            .Where(r => !wanted.Contains((r.FullPath, r.IsFile)))
            .Select(r => (r, kept.FirstOrDefault(k => !k.IsFile && ShareRoot.Contains(k.FullPath, r.FullPath))))];
    }
}
