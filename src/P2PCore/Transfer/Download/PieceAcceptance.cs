using System.Security.Cryptography;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Transfer;

/// <summary>
/// Takes in a piece that arrived: checks it against its hash when <see cref="ArrivalChecks"/> says so, writes it
/// (which marks it in the record), counts it, and hands its buffer to the whole-file hasher when that can use it. The piece's buffer is this part's from the moment
/// it arrives: released in one place (the finally below) unless the hasher took it over.
/// </summary>
internal sealed class PieceAcceptance(DownloadItem item, PartialFile partial, PieceScheduler scheduler, WholeFileHasher? hasher, ArrivalChecks checks)
{
    /// <summary>Accepts a piece from a source; <see cref="P2PException"/> (VerificationFailed) for bad data.</summary>
    public async Task AcceptAsync(string source, int piece, PieceData data, CancellationToken cancellationToken)
    {
        var owned = new OwnedPiece(data);
        try
        {
            int expected = TransferLimits.PieceLength(partial.Size, piece);
            bool written;
            try
            {
                // Without a whole-file hasher (a file of one piece) the check on arrival is the only one.
                bool checkNow = hasher is null || checks.CheckNow(source);
                if (data.Length != expected || (checkNow && !MatchesItsHash(piece, data)))
                {
                    throw new P2PException(ProtocolError.VerificationFailed, $"{source} sent bad data for piece {piece} of '{item.Name}' (it does not match the piece's hash); that source is no longer used for it");
                }

                written = await partial.WritePieceAsync(piece, data.Data, checkNow, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                // Verified and written, or given up: either way this source no longer has it under way.
                scheduler.Release(piece);
            }

            if (written)
            {
                item.Verified(expected);
                hasher?.Offer(piece, ref owned);
            }
        }
        finally
        {
            owned.Dispose();
        }
    }

    private bool MatchesItsHash(int piece, PieceData data)
    {
        Span<byte> actual = stackalloc byte[32];
        return SHA256.TryHashData(data.Data.Span, actual, out _) && actual.SequenceEqual(partial.PieceHash(piece));
    }
}
