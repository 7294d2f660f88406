namespace P2PTransfer.Index;

/// <summary>
/// What may be shared, and the rules of stored paths: a root stores its files by path relative to it, with '/'
/// separators; a scope is the stored path of a file or folder below a root, empty for the whole root.
/// </summary>
internal static class SharePaths
{
    /// <summary>
    /// Checks paths can be shared: each exists and neither is nor holds the node's state folder. Throws
    /// <see cref="FileNotFoundException"/> or <see cref="ArgumentException"/>; returns the full paths and whether each is a file.
    /// </summary>
    public static List<(string Path, bool IsFile)> CheckShareable(IEnumerable<string> paths, string stateDirectory) =>
        [.. paths.Select(path => CheckShareable(path, ShareRoot.Normalize(stateDirectory)))];

    /// <summary>True when <paramref name="storedPath"/> lies below the folder at <paramref name="scope"/> (any path, for the whole root).</summary>
    public static bool IsBelow(string scope, string storedPath) =>
        scope.Length == 0 || storedPath.StartsWith(scope + "/", StringComparison.Ordinal);

    /// <summary>The part of a root a local path covers: all of it when the path holds the root, else the path's stored form; null when unrelated.</summary>
    public static string? ScopeOf(ShareRoot root, string fullPath) =>
        ShareRoot.Contains(fullPath, root.FullPath) ? string.Empty : root.IsFile ? null : root.StoredPath(fullPath);

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
}
