namespace P2PTransfer.Transfer;

/// <summary>
/// The downloads of a session: every item of every batch that names this registry in its options, from the moment
/// it is added until its batch is disposed, each with an id unique here. Holds no state of its own on disk: a
/// download interrupted in an earlier run (Ctrl+C, a stopped job, a crash) is found again from the record of its
/// partial file (<see cref="FindInterrupted"/>). Thread-safe.
/// </summary>
public sealed class TransferRegistry
{
    private readonly object _gate = new();
    private readonly List<DownloadItem> _downloads = [];
    private int _lastId;

    /// <summary>The downloads listed now, by id.</summary>
    public IReadOnlyList<DownloadItem> Downloads
    {
        get
        {
            lock (_gate)
            {
                return [.. _downloads];
            }
        }
    }

    /// <summary>The download with this id, or null.</summary>
    public DownloadItem? Get(int id)
    {
        lock (_gate)
        {
            return _downloads.Find(d => d.Id == id);
        }
    }

    /// <summary>
    /// The downloads into <paramref name="folder"/> (full path): those listed here, and those an earlier run left
    /// (a partial file's record, <c>NAME.p2ppart.pieces</c>, that no download here holds), read from their records
    /// as <see cref="DownloadState.Stopped"/> items with their hash, size and verified bytes. A record that cannot be
    /// read (another process downloads into it, or it is damaged) is left out. A file of one piece has no record:
    /// there is nothing in it to resume.
    /// </summary>
    public IReadOnlyList<DownloadItem> FindInterrupted(string folder)
    {
        var full = Path.GetFullPath(folder);
        var live = Downloads.Where(d => DownloadBatch.PathComparer.Equals(Path.GetDirectoryName(d.Destination), Path.TrimEndingDirectorySeparator(full))).ToList();
        var found = new List<DownloadItem>(live);
        if (!Directory.Exists(full))
        {
            return found;
        }

        foreach (var record in Directory.EnumerateFiles(full, "*" + PartialFile.RecordSuffix))
        {
            var destination = record[..^PartialFile.RecordSuffix.Length];
            if (!live.Exists(d => DownloadBatch.PathComparer.Equals(d.Destination, destination)) && At(destination) is { } interrupted)
            {
                found.Add(interrupted);
            }
        }

        return found;
    }

    /// <summary>The download that ends as <paramref name="destination"/>: listed here, or interrupted (read from its record); null when there is neither.</summary>
    public DownloadItem? FindAt(string destination)
    {
        var full = WithoutPartialSuffix(Path.GetFullPath(destination));

        lock (_gate)
        {
            if (_downloads.FindLast(d => DownloadBatch.PathComparer.Equals(d.Destination, full)) is { } listed)
            {
                return listed;
            }
        }

        return At(full);
    }

    /// <summary>Removes the partial file and record of a download that has ended (Stop-P2PTransfer -Discard); false while it still runs.</summary>
    public static bool Discard(DownloadItem download)
    {
        if (download.Id != 0 && !download.HasEnded)
        {
            return false;
        }

        DeletePartial(download.Destination);
        return true;
    }

    internal static void DeletePartial(string destination)
    {
        File.Delete(destination + PartialFile.DataSuffix);
        File.Delete(destination + PartialFile.RecordSuffix);
    }

    internal void Add(DownloadItem download)
    {
        lock (_gate)
        {
            download.Id = ++_lastId;
            _downloads.Add(download);
        }
    }

    internal void Remove(DownloadItem download)
    {
        lock (_gate)
        {
            _downloads.Remove(download);
        }
    }

    /// <summary>The destination a partial file or record belongs to (<c>big.iso.p2ppart</c> is <c>big.iso</c>'s); any other path as it is.</summary>
    private static string WithoutPartialSuffix(string path) =>
        path.EndsWith(PartialFile.RecordSuffix, StringComparison.OrdinalIgnoreCase) ? path[..^PartialFile.RecordSuffix.Length]
        : path.EndsWith(PartialFile.DataSuffix, StringComparison.OrdinalIgnoreCase) ? path[..^PartialFile.DataSuffix.Length]
        : path;

    private static DownloadItem? At(string destination) =>
        PartialFile.ReadRecord(destination) is { } record ? DownloadItem.Interrupted(record.Hash, record.Size, record.BytesVerified, destination) : null;
}
