namespace P2PTransfer.Peers;

/// <summary>
/// Which of two live links between the same two nodes survives. The dialer of the newer link judges, and the
/// other side follows its verdict: both keep the link dialed by the lower node id (ids ordered by their wire
/// bytes); of two links dialed by the same node, the older one.
/// </summary>
internal static class DuplicateLinkRule
{
    /// <summary>The verdict on a link this node dialed while the link <paramref name="existingDirection"/> (made as number <paramref name="existingSequence"/>) is live.</summary>
    /// <param name="dialStarted">The last link number this node had handed out when the dial began.</param>
    public static DialVerdict JudgeDial(Guid localId, Guid remoteId, PeerDirection existingDirection, long existingSequence, long dialStarted) =>
        new(
            KeepNew: existingDirection == PeerDirection.Inbound && CompareIds(localId, remoteId) < 0,
            AlreadyLinked: existingSequence <= dialStarted);

    /// <summary>A duplicate link whose dialer gave no verdict within the handshake timeout is closed.</summary>
    public static bool PendingExpired(long now, long createdAt, TimeSpan handshakeTimeout) =>
        now - createdAt > handshakeTimeout.TotalMilliseconds;

    /// <summary>Orders node ids by their wire bytes, so every implementation agrees on which of two is lower.</summary>
    public static int CompareIds(Guid left, Guid right)
    {
        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        left.TryWriteBytes(a, bigEndian: true, out _);
        right.TryWriteBytes(b, bigEndian: true, out _);
        return a.SequenceCompareTo(b);
    }
}
