namespace P2PTransfer.Transfer;

/// <summary>
/// The next piece for a source to request, paid for first under -MaxBytesPerSecond: a source with nothing under way
/// waits for its turn at the budget; one with pieces under way gets one more only if the budget allows it at once (it
/// takes what it requested meanwhile, so nothing that arrived waits on the limit).
/// </summary>
internal sealed class PiecePacing(PieceScheduler scheduler, Bandwidth? bandwidth, long size)
{
    /// <summary>The next piece to request, or -1 for none now.</summary>
    public async ValueTask<int> NextAsync(bool idle, CancellationToken cancellationToken)
    {
        if (bandwidth is null)
        {
            return scheduler.Next(idle);
        }

        if (idle)
        {
            using var turn = await bandwidth.WaitTurnAsync(cancellationToken).ConfigureAwait(false);
            int piece = scheduler.Next(idle: true);
            if (piece >= 0)
            {
                turn.Take(TransferLimits.PieceLength(size, piece));
            }

            return piece;
        }

        int next = scheduler.Next(idle: false);
        if (next >= 0 && !bandwidth.TryTake(TransferLimits.PieceLength(size, next)))
        {
            scheduler.Release(next);
            return -1;
        }

        return next;
    }
}
