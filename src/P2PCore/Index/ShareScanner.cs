using P2PTransfer.Search;

namespace P2PTransfer.Index;

/// <summary>
/// Walks a shared root and yields the regular files it shares. The safety rules live here: folder links are never
/// followed (they could lead anywhere, or in a loop); a file link is shared only if it ends at a regular file inside
/// the same root; excluded names and paths are skipped, and so is the node's own state folder.
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

    /// <summary>The files of <paramref name="root"/> below <paramref name="scope"/> (a stored path; empty for the whole root).</summary>
    public IEnumerable<DiskFile> Scan(ShareRoot root, string scope, CancellationToken cancellationToken)
    {
        if (root.IsFile)
        {
            if (CheckFile(root, new FileInfo(root.FullPath)) is { } only)
            {
                yield return only;
            }

            yield break;
        }

        var start = scope.Length == 0 ? root.FullPath : root.LocalPath(scope);
        FileSystemInfo startInfo = Directory.Exists(start) ? new DirectoryInfo(start) : new FileInfo(start);
        if (!startInfo.Exists || IsExcluded(startInfo))
        {
            yield break;
        }

        if (startInfo is FileInfo single)
        {
            if (CheckFile(root, single) is { } file)
            {
                yield return file;
            }

            yield break;
        }

        if (startInfo.LinkTarget is not null && scope.Length > 0)
        {
            yield break;
        }

        var folders = new Stack<DirectoryInfo>();
        folders.Push((DirectoryInfo)startInfo);
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
                warn($"cannot read folder '{folder.FullName}': {e.Message}; its files are not shared");
                continue;
            }

            foreach (var entry in entries)
            {
                if (IsExcluded(entry))
                {
                    continue;
                }

                if (entry is DirectoryInfo subfolder)
                {
                    if (subfolder.LinkTarget is not null || subfolder.Attributes.HasFlag(FileAttributes.ReparsePoint))
                    {
                        LinksSkipped++;
                        trace($"not following folder link '{subfolder.FullName}'");
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

    private bool IsExcluded(FileSystemInfo entry) =>
        excludedPaths.Contains(entry.FullName)
        || ShareRoot.Contains(stateDirectory, entry.FullName)
        || excludeNames.Any(pattern => pattern.IsMatch(entry.Name));

    private DiskFile? CheckFile(ShareRoot root, FileInfo file)
    {
        try
        {
            if (!file.Exists)
            {
                return null;
            }

            var stored = root.StoredPath(file.FullName);
            if (stored is null)
            {
                return null;
            }

            var content = file;
            if (file.LinkTarget is not null)
            {
                // Shared only if the final target is a regular file inside this root: never a way out of the share.
                var target = file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
                var boundary = root.IsFile ? Path.GetDirectoryName(root.FullPath)! : root.FullPath;
                if (target is not { Exists: true } || target.LinkTarget is not null || !ShareRoot.Contains(boundary, ShareRoot.Normalize(target.FullName)) || root.IsFile)
                {
                    LinksSkipped++;
                    trace($"not sharing link '{file.FullName}': it leads outside the share");
                    return null;
                }

                content = target;
            }

            return new DiskFile(stored, file.FullName, content.Length, content.LastWriteTimeUtc.Ticks);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn($"cannot read '{file.FullName}': {e.Message}; not shared");
            return null;
        }
    }
}
