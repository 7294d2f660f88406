namespace P2PTransfer.Index;

/// <summary>What hashing one file gave: a digest, or why the file could not be read.</summary>
internal sealed record HashOutcome(long Id, long Size, long Modified, FileDigest? Digest, string? Error);
