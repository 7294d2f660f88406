namespace P2PTransfer.Index;

/// <summary>A file row as searches return it.</summary>
internal sealed record IndexedFile(long Id, long RootId, string StoredPath, string Name, long Size, long Modified, byte[]? Sha256, SharedFileState State, string? Error);
