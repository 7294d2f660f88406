namespace P2PTransfer.Index;

/// <summary>What the index has done since the node started; shown by Get-P2PNode.</summary>
public sealed class IndexCounters
{
    private long _filesHashed;
    private long _bytesHashed;
    private long _filesUnchanged;
    private long _filesUnreadable;
    private long _reconciles;
    private long _changeNotifications;
    private long _notificationOverflows;
    private long _linksSkipped;

    /// <summary>Files read and hashed.</summary>
    public long FilesHashed => Interlocked.Read(ref _filesHashed);

    public long BytesHashed => Interlocked.Read(ref _bytesHashed);

    /// <summary>Files a reconcile found with the size and last-write time already indexed, so they were not read again.</summary>
    public long FilesUnchanged => Interlocked.Read(ref _filesUnchanged);

    public long FilesUnreadable => Interlocked.Read(ref _filesUnreadable);

    /// <summary>Passes that compared a shared root (or part of one) with the index.</summary>
    public long Reconciles => Interlocked.Read(ref _reconciles);

    public long ChangeNotifications => Interlocked.Read(ref _changeNotifications);

    /// <summary>Times the operating system dropped change notifications, each answered by a full reconcile.</summary>
    public long NotificationOverflows => Interlocked.Read(ref _notificationOverflows);

    /// <summary>Links (to files or folders) found by the last full pass; links are never followed, so none is shared.</summary>
    public long LinksSkipped => Interlocked.Read(ref _linksSkipped);

    internal void Hashed(long bytes)
    {
        Interlocked.Increment(ref _filesHashed);
        Interlocked.Add(ref _bytesHashed, bytes);
    }

    internal void Unchanged(long files) => Interlocked.Add(ref _filesUnchanged, files);

    internal void Unreadable() => Interlocked.Increment(ref _filesUnreadable);

    internal void Reconciled() => Interlocked.Increment(ref _reconciles);

    internal void FullPassDone(long linksSkipped) => Interlocked.Exchange(ref _linksSkipped, linksSkipped);

    internal void ChangeNotified() => Interlocked.Increment(ref _changeNotifications);

    internal void NotificationOverflow() => Interlocked.Increment(ref _notificationOverflows);
}
