namespace P2PTransfer.Index;

/// <summary>A shared folder (its files are shared recursively) or a single shared file.</summary>
internal sealed record ShareRoot(long Id, string FullPath, bool IsFile)
{
    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>Compares local paths as this system's file systems usually do (ignoring case on Windows and macOS).</summary>
    public static StringComparer PathComparer { get; } = StringComparer.FromComparison(PathComparison);

    /// <summary>The folder's (or file's) own name, the first segment of every relative path it shares.</summary>
    public string Leaf => Path.GetFileName(FullPath.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)) is { Length: > 0 } leaf
        ? leaf
        : FullPath.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar, ':') is { Length: > 0 } drive ? drive : "root";

    /// <summary>The relative path other nodes see for a path stored below this root.</summary>
    public string PublicPath(string storedPath) => IsFile ? Leaf : $"{Leaf}/{storedPath}";

    /// <summary>The local path of a path stored below this root.</summary>
    public string LocalPath(string storedPath) =>
        IsFile ? FullPath : Path.Combine(FullPath, storedPath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The stored form ('/'-separated, relative) of a local path inside this root; null when it is outside.</summary>
    public string? StoredPath(string fullPath)
    {
        if (IsFile)
        {
            return string.Equals(fullPath, FullPath, PathComparison) ? Leaf : null;
        }

        if (string.Equals(fullPath, FullPath, PathComparison))
        {
            return string.Empty;
        }

        return Contains(FullPath, fullPath) ? fullPath[PrefixLength(FullPath)..].Replace(Path.DirectorySeparatorChar, '/') : null;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> itself or lies below it.</summary>
    public static bool Contains(string folder, string path) =>
        string.Equals(folder, path, PathComparison)
        || (path.Length > PrefixLength(folder)
            && path.StartsWith(folder, PathComparison)
            && path[PrefixLength(folder) - 1] == Path.DirectorySeparatorChar);

    // A drive or file-system root already ends with its separator.
    private static int PrefixLength(string folder) => folder.EndsWith(Path.DirectorySeparatorChar) ? folder.Length : folder.Length + 1;

    public static string Normalize(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
}
