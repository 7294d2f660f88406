using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace P2PTransfer.Transfer;

/// <summary>
/// Which arriving pieces are hashed as they arrive. The whole-file SHA-256 covers every byte before the file gets its
/// name, so a piece's own hash on arrival only finds a bad source early; hashing every piece as well cost the
/// downloader a second full pass. A source's first <see cref="TransferLimits.PiecesCheckedFirst"/> pieces are checked,
/// then one in <see cref="TransferLimits.CheckOneIn"/> chosen at random (the source cannot tell which), so a source
/// sending bad data is caught within a few pieces. The partial file's record marks the pieces taken unchecked
/// (<see cref="PartialFile.IsUnchecked"/>): when the whole-file hash disagrees, they are checked from disk, the bad ones
/// fetched again, and from then on every piece is checked on arrival (so a source is only ever blamed by a check on
/// arrival, never for what the disk may have done since).
/// </summary>
internal sealed class ArrivalChecks
{
    private readonly ConcurrentDictionary<string, int> _arrived = new(StringComparer.OrdinalIgnoreCase);
    private readonly Func<int, int> _pick;
    private volatile bool _everyPiece;

    /// <param name="pick">A random number below its argument (tests pass a sequence of their own).</param>
    public ArrivalChecks(Func<int, int>? pick = null) => _pick = pick ?? RandomNumberGenerator.GetInt32;

    /// <summary>Whether the piece arriving now from <paramref name="source"/> is to be hashed before it is written.</summary>
    public bool CheckNow(string source)
    {
        int arrived = _arrived.AddOrUpdate(source, 1, (_, count) => count + 1);
        return _everyPiece || arrived <= TransferLimits.PiecesCheckedFirst || _pick(TransferLimits.CheckOneIn) == 0;
    }

    /// <summary>From now on every piece is checked on arrival (the whole file did not match once).</summary>
    public void CheckEveryPiece() => _everyPiece = true;
}
