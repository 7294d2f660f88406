namespace P2PTransfer.Index;

/// <summary>
/// Compares the rows of a root (or of the part of it a reconcile looks at) with the files a scan finds, one file at
/// a time: an unchanged file (same size and last-write time) is left alone, a new or changed one waits for hashing,
/// an unreadable one is tried again; rows no file was found for have vanished, except below a folder that could not
/// be read, whose files stay as they were indexed.
/// </summary>
internal sealed class ReconcileDiff(Dictionary<string, StoredFile> stored)
{
    private List<DiskFile> _added = [];
    private List<(long Id, DiskFile File)> _changed = [];
    private List<long> _retry = [];

    /// <summary>Files found hashed and unchanged, so not read again.</summary>
    public long Unchanged { get; private set; }

    /// <summary>Files found unchanged whose hashing was interrupted (a stop or a crash): the hash feeder picks them up.</summary>
    public bool HashingInterrupted { get; private set; }

    /// <summary>Rows no file has been found for so far.</summary>
    public int Unmatched => stored.Count;

    /// <summary>Changes found and not taken yet.</summary>
    public int Pending => _added.Count + _changed.Count + _retry.Count;

    public void Compare(DiskFile file)
    {
        if (!stored.Remove(file.StoredPath, out var row))
        {
            _added.Add(file);
        }
        else if (row.Size != file.Size || row.Modified != file.Modified)
        {
            _changed.Add((row.Id, file));
        }
        else if (row.State == SharedFileState.Ready)
        {
            Unchanged++;
        }
        else if (row.State == SharedFileState.Unreadable)
        {
            _retry.Add(row.Id);
        }
        else
        {
            HashingInterrupted = true;
        }
    }

    /// <summary>Takes the changes found since the last batch.</summary>
    public ReconcileBatch TakeBatch()
    {
        var batch = new ReconcileBatch(_added, _changed, _retry);
        _added = [];
        _changed = [];
        _retry = [];
        return batch;
    }

    /// <summary>The ids of the rows no file was found for, but those below a folder the scan could not read (stored paths; empty for the root).</summary>
    public List<long> Vanished(IReadOnlyList<string> unreadableFolders) =>
        [.. stored
            .Where(entry => !unreadableFolders.Any(folder => SharePaths.IsBelow(folder, entry.Key)))
            .Select(entry => entry.Value.Id)];
}
