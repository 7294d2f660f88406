namespace P2PTransfer.Transfer;

/// <summary>
/// Which source fetches which piece of one file. Each missing piece goes to one source; once none is left
/// unassigned, a source with nothing under way also takes a piece another source still has under way (end game), so the last pieces
/// never wait on one slow source. A source that fails gives its pieces back.
/// </summary>
internal sealed class PieceScheduler
{
    private const int MaxHolders = 2;
    private readonly object _gate = new();
    private readonly bool[] _verified;
    private readonly int[] _holders;
    private int _cursor;
    private int _remaining;

    public PieceScheduler(int pieceCount, Func<int, bool> alreadyVerified)
    {
        _verified = new bool[pieceCount];
        _holders = new int[pieceCount];
        for (int piece = 0; piece < pieceCount; piece++)
        {
            _verified[piece] = alreadyVerified(piece);
            _remaining += _verified[piece] ? 0 : 1;
        }
    }

    public bool AllVerified
    {
        get
        {
            lock (_gate)
            {
                return _remaining == 0;
            }
        }
    }

    /// <summary>
    /// The next piece for a source, or -1 when there is none for it. Only an <paramref name="idle"/> source (nothing
    /// under way) is given a piece another source still has under way.
    /// </summary>
    public int Next(bool idle)
    {
        lock (_gate)
        {
            // Every piece below the cursor is verified or under way (Release moves it back when one is given up).
            for (; _cursor < _verified.Length && (_verified[_cursor] || _holders[_cursor] > 0); _cursor++)
            {
            }

            if (_cursor < _verified.Length)
            {
                _holders[_cursor] = 1;
                return _cursor;
            }

            // End game: a source with nothing under way helps with pieces under way elsewhere.
            for (int piece = 0; idle && piece < _verified.Length; piece++)
            {
                if (!_verified[piece] && _holders[piece] < MaxHolders)
                {
                    _holders[piece]++;
                    return piece;
                }
            }

            return -1;
        }
    }

    /// <summary>A piece arrived and was verified (by this source, or another one first).</summary>
    public void Verified(int piece)
    {
        lock (_gate)
        {
            _holders[piece] = Math.Max(0, _holders[piece] - 1);
            if (!_verified[piece])
            {
                _verified[piece] = true;
                _remaining--;
            }
        }
    }

    /// <summary>A source gave up a piece (it failed, refused or was dropped): another source may take it.</summary>
    public void Release(int piece)
    {
        lock (_gate)
        {
            _holders[piece] = Math.Max(0, _holders[piece] - 1);
            if (!_verified[piece] && _holders[piece] == 0 && piece < _cursor)
            {
                _cursor = piece;
            }
        }
    }
}
