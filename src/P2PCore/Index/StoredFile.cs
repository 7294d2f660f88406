namespace P2PTransfer.Index;

/// <summary>A file row as reconcile compares it with the disk.</summary>
internal readonly record struct StoredFile(long Id, long Size, long Modified, SharedFileState State);
