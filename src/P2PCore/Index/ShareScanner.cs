using P2PTransfer.Protocol;

namespace P2PTransfer.Index;

/// <summary>
/// Walks a shared root and yields the files it shares. The safety rules live here: links (to files or folders) are
/// never followed, so nothing outside a share can be reached through one; only regular files are shared, empty ones
/// too, judged by their file type (named pipes, sockets and devices are never opened: a named pipe would block its
/// reader); a download in progress (its partial file and record, <see cref="PartialFileNames"/>) is never shared;
/// excluded names and paths are skipped, also when a change below them is reported; the node's own state
/// folder is never shared; a file or folder whose name holds a character that would make it show as another name
/// (a bidi control, an invisible character: <see cref="FileNames"/>) is not shared, with a warning, nor is anything
/// below such a folder, so no relative path announced holds one.
/// </summary>
internal sealed class ShareScanner(IReadOnlyList<Wildcard> excludeNames, IReadOnlySet<string> excludedPaths, string stateDirectory, Action<string> trace, Action<string> warn)
{
    private static readonly EnumerationOptions OneFolder = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = false,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
    };

    public long LinksSkipped { get; private set; }

    /// <summary>True when the root itself could not be found or read: nothing below it can be judged gone.</summary>
    public bool RootUnreachable { get; private set; }

    /// <summary>Stored paths of folders that could not be listed; rows below them are kept, not deleted.</summary>
    public List<string> UnreadableFolders { get; } = [];

    /// <summary>The files of <paramref name="root"/> below <paramref name="scope"/> (a stored path; empty for the whole root).</summary>
    public IEnumerable<DiskFile> Scan(ShareRoot root, string scope, CancellationToken cancellationToken)
    {
        var rootInfo = root.IsFile ? (FileSystemInfo)new FileInfo(root.FullPath) : new DirectoryInfo(root.FullPath);
        if (!rootInfo.Exists)
        {
            RootUnreachable = true;
            yield break;
        }

        if (HasHiddenName(rootInfo, root.Leaf))
        {
            // Its name is the first segment of every relative path it would announce.
            yield break;
        }

        if (root.IsFile)
        {
            if (CheckFile(root, (FileInfo)rootInfo) is { } only)
            {
                yield return only;
            }

            yield break;
        }

        var start = (DirectoryInfo)rootInfo;
        if (scope.Length > 0)
        {
            // A change reported below an excluded folder or a folder link is not shared: check every folder on the way.
            var path = root.FullPath;
            var segments = scope.Split('/');
            for (var i = 0; i < segments.Length - 1; i++)
            {
                path = Path.Combine(path, segments[i]);
                var folder = new DirectoryInfo(path);
                if (!folder.Exists || IsExcluded(folder) || IsLink(folder) || HasHiddenName(folder, folder.Name))
                {
                    yield break;
                }
            }

            var target = Path.Combine(path, segments[^1]);
            if (File.Exists(target))
            {
                var targetFile = new FileInfo(target);
                if (!IsExcluded(targetFile) && CheckFile(root, targetFile) is { } single)
                {
                    yield return single;
                }

                yield break;
            }

            start = new DirectoryInfo(target);
            if (!start.Exists || IsExcluded(start) || IsLink(start) || HasHiddenName(start, start.Name))
            {
                yield break;
            }
        }

        var folders = new Stack<DirectoryInfo>();
        folders.Push(start);
        while (folders.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var folder = folders.Pop();
            List<FileSystemInfo> entries;
            try
            {
                entries = [.. folder.EnumerateFileSystemInfos("*", OneFolder)];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                UnreadableFolders.Add(root.StoredPath(folder.FullName) ?? string.Empty);
                warn($"cannot read folder '{folder.FullName}': {e.Message}; its files stay as they were indexed");
                continue;
            }

            foreach (var entry in entries)
            {
                if (IsExcluded(entry))
                {
                    continue;
                }

                if (IsLink(entry))
                {
                    LinksSkipped++;
                    trace($"not following link '{entry.FullName}'");
                }
                else if (entry is DirectoryInfo subfolder)
                {
                    if (HasHiddenName(subfolder, subfolder.Name))
                    {
                        continue;
                    }

                    folders.Push(subfolder);
                }
                else if (CheckFile(root, (FileInfo)entry) is { } file)
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>A symbolic link or junction (file or folder): never followed, never served.</summary>
    internal static bool IsLink(FileSystemInfo entry) => entry.LinkTarget is not null || entry.Attributes.HasFlag(FileAttributes.ReparsePoint);

    /// <summary>True (with a warning) when a name would show as another: nothing is shared under it.</summary>
    private bool HasHiddenName(FileSystemInfo entry, string name)
    {
        if (FileNames.WhyRefused(name) is not { } why)
        {
            return false;
        }

        warn($"not sharing '{Text.Escape(entry.FullName)}': {why}");
        return true;
    }

    private bool IsExcluded(FileSystemInfo entry) =>
        excludedPaths.Contains(entry.FullName)
        || ShareRoot.Contains(stateDirectory, entry.FullName)
        || excludeNames.Any(pattern => pattern.IsMatch(entry.Name));

    private DiskFile? CheckFile(ShareRoot root, FileInfo file)
    {
        try
        {
            if (!file.Exists || IsLink(file) || !RegularFile.Is(file.FullName) || PartialFileNames.IsPartialName(file.Name) || HasHiddenName(file, file.Name)
                || root.StoredPath(file.FullName) is not { } stored)
            {
                if (file.Exists && IsLink(file))
                {
                    LinksSkipped++;
                }

                return null;
            }

            return new DiskFile(stored, file.FullName, file.Length, file.LastWriteTimeUtc.Ticks);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn($"cannot read '{file.FullName}': {e.Message}; not shared");
            return null;
        }
    }
}
