namespace P2PTransfer.Transfer;

/// <summary>
/// Which source fetches which piece of one file, lowest missing piece first. Each missing piece goes to one source;
/// once none is left unassigned, a source with nothing under way also takes a piece another source still has under
/// way (end game, at most two at once), so the last pieces never wait on one slow source. A piece given back goes to
/// the front again. Which pieces are verified it reads from <see cref="VerifiedPieces"/>; it only keeps what is under way.
/// </summary>
internal sealed class PieceScheduler(VerifiedPieces verified)
{
    private const int MaxHolders = 2;
    private readonly object _gate = new();
    private readonly int[] _holders = new int[verified.PieceCount];
    private int _cursor;

    public bool AllVerified => verified.All;

    /// <summary>
    /// The next piece for a source, or -1 when there is none for it. Only an <paramref name="idle"/> source (nothing
    /// under way) is given a piece another source still has under way.
    /// </summary>
    public int Next(bool idle)
    {
        lock (_gate)
        {
            // Every piece below the cursor is verified or under way (Release moves it back when one is given up).
            for (; _cursor < _holders.Length && (verified.Contains(_cursor) || _holders[_cursor] > 0); _cursor++)
            {
            }

            if (_cursor < _holders.Length)
            {
                _holders[_cursor] = 1;
                return _cursor;
            }

            // End game: a source with nothing under way helps with pieces under way elsewhere.
            for (int piece = 0; idle && piece < _holders.Length; piece++)
            {
                if (!verified.Contains(piece) && _holders[piece] < MaxHolders)
                {
                    _holders[piece]++;
                    return piece;
                }
            }

            return -1;
        }
    }

    /// <summary>
    /// A source no longer has a piece under way: it arrived and was verified (by this source, or another one first),
    /// or the source gave it up (it failed, refused, sent bad data or was dropped). A piece not verified that no
    /// other source has under way goes to the next source that asks.
    /// </summary>
    public void Release(int piece)
    {
        lock (_gate)
        {
            _holders[piece] = Math.Max(0, _holders[piece] - 1);
            if (_holders[piece] == 0 && piece < _cursor && !verified.Contains(piece))
            {
                _cursor = piece;
            }
        }
    }
}
