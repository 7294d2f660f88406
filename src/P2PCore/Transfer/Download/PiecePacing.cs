namespace P2PTransfer.Transfer;

/// <summary>
/// The next piece for a source to request, paid for first under -MaxBytesPerSecond: a source with nothing under way
/// waits for its turn at the budget; one with pieces under way gets one more only if the budget allows it at once (it
/// takes what it requested meanwhile, so nothing that arrived waits on the limit). A source with pieces under way also
/// gets none beyond what a busy whole-file hasher can hold (<see cref="WholeFileHasher.Horizon"/>): when the hasher
/// falls behind (a machine short of processor time), arrivals slow towards its pace, rather than piling up to be read
/// back from disk while the sources take the processor it needs. A source with nothing under way always gets one.
/// </summary>
internal sealed class PiecePacing(PieceScheduler scheduler, Bandwidth? bandwidth, long size, WholeFileHasher? hasher = null)
{
    /// <summary>The next piece to request, or -1 for none now.</summary>
    public async ValueTask<int> NextAsync(bool idle, CancellationToken cancellationToken)
    {
        if (bandwidth is null)
        {
            return Within(scheduler.Next(idle), idle);
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

        int next = Within(scheduler.Next(idle: false), idle: false);
        if (next >= 0 && !bandwidth.TryTake(TransferLimits.PieceLength(size, next)))
        {
            scheduler.Release(next);
            return -1;
        }

        return next;
    }

    /// <summary>The piece, or -1 (and the piece given back) when a source with pieces under way would run ahead of the hasher.</summary>
    private int Within(int piece, bool idle)
    {
        if (piece < 0 || idle || hasher is null || piece < hasher.Horizon)
        {
            return piece;
        }

        scheduler.Release(piece);
        return -1;
    }
}
