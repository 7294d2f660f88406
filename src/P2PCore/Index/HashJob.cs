namespace P2PTransfer.Index;

/// <summary>One file to hash, as its row described it when it was fed.</summary>
internal sealed record HashJob(long Id, long RootId, string FullPath, long Size, long Modified, bool WasUnreadable)
{
    public HashOutcome Outcome(FileDigest? digest, string? error) => new(Id, Size, Modified, digest, error);
}
