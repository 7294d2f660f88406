namespace P2PTransfer.Transfer;

/// <summary>
/// Which pieces of one download are verified and on disk: the one record that the partial file's record, the piece
/// scheduler and the whole-file hasher all read, so they cannot disagree. Only <see cref="PartialFile"/> adds a piece,
/// once its data is written, and takes one out, when its data on disk no longer matches its hash
/// (<see cref="PartialFile.DropDamagedPieces"/>), which it does only while no scheduler or hasher reads these bits.
/// Reads take no lock (while a download runs, a bit only ever goes from 0 to 1).
/// </summary>
internal sealed class VerifiedPieces
{
    private readonly object _gate = new();
    private readonly byte[] _bitmap;
    private int _count;

    /// <param name="bitmap">One bit per piece, lowest bit first: the layout of the record on disk. Kept, not copied.</param>
    public VerifiedPieces(long size, byte[] bitmap)
    {
        Size = size;
        PieceCount = TransferLimits.PieceCount(size);
        _bitmap = bitmap;
        for (int piece = 0; piece < PieceCount; piece++)
        {
            _count += Contains(piece) ? 1 : 0;
        }
    }

    public long Size { get; }

    public int PieceCount { get; }

    public int Count => Volatile.Read(ref _count);

    public bool All => Count == PieceCount;

    public long Bytes
    {
        get
        {
            long bytes = 0;
            for (int piece = 0; piece < PieceCount; piece++)
            {
                bytes += Contains(piece) ? TransferLimits.PieceLength(Size, piece) : 0;
            }

            return bytes;
        }
    }

    public bool Contains(int piece) => ((Volatile.Read(ref _bitmap[piece / 8]) >> (piece % 8)) & 1) != 0;

    /// <summary>Marks a piece verified; false when it was already.</summary>
    public bool Add(int piece)
    {
        lock (_gate)
        {
            if (Contains(piece))
            {
                return false;
            }

            Volatile.Write(ref _bitmap[piece / 8], (byte)(_bitmap[piece / 8] | (1 << (piece % 8))));
            Volatile.Write(ref _count, _count + 1);
            return true;
        }
    }

    /// <summary>Bytes from the start of the file to the end of the last verified piece: the data worth keeping.</summary>
    public long Extent
    {
        get
        {
            for (int piece = PieceCount - 1; piece >= 0; piece--)
            {
                if (Contains(piece))
                {
                    return ((long)piece * TransferLimits.PieceSize) + TransferLimits.PieceLength(Size, piece);
                }
            }

            return 0;
        }
    }

    /// <summary>Takes a piece out (its data on disk was found damaged); false when it was not verified.</summary>
    public bool Remove(int piece)
    {
        lock (_gate)
        {
            if (!Contains(piece))
            {
                return false;
            }

            Volatile.Write(ref _bitmap[piece / 8], (byte)(_bitmap[piece / 8] & ~(1 << (piece % 8))));
            Volatile.Write(ref _count, _count - 1);
            return true;
        }
    }

    /// <summary>The byte of the bitmap that holds a piece's bit, as the record on disk stores it.</summary>
    public ReadOnlySpan<byte> BitmapByteOf(int piece) => _bitmap.AsSpan(piece / 8, 1);
}
