namespace P2PTransfer.Index;

/// <summary>A file found on disk below a root.</summary>
internal sealed record DiskFile(string StoredPath, string FullPath, long Size, long Modified);
