namespace P2PTransfer.Index;

/// <summary>A row waiting to be hashed. Ids are never reused (AUTOINCREMENT), so an id names one file for good.</summary>
internal sealed record PendingFile(long Id, long RootId, string StoredPath, long Size, long Modified, string? PreviousError);
