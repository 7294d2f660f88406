namespace P2PTransfer.Index;

/// <summary>How far indexing has come: files and bytes hashed of everything the node shares.</summary>
public sealed record IndexProgress(long FilesTotal, long BytesTotal, long FilesPending, long BytesPending, long FilesUnreadable)
{
    /// <summary>True while the shares are being compared with the disk or files wait for hashing.</summary>
    public bool Busy { get; init; }

    public long FilesDone => FilesTotal - FilesPending;

    public long BytesDone => BytesTotal - BytesPending;

    /// <summary>Everything found has been hashed (or found unreadable) and no reconcile is under way.</summary>
    public bool IsComplete => !Busy && FilesPending == 0;

    public override string ToString() => $"{FilesDone}/{FilesTotal} files, {BytesDone}/{BytesTotal} bytes{(IsComplete ? string.Empty : ", indexing")}";
}
