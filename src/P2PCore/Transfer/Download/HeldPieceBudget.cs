namespace P2PTransfer.Transfer;

/// <summary>
/// How many arrived pieces the whole-file hashers of a process may hold in memory at once, waiting for their turn
/// (<see cref="WholeFileHasher"/>): enough for the pieces several sources deliver out of order, bounded for the
/// process however many files it downloads (each piece is 1 MiB). A piece the budget cannot take is read back from
/// the partial file when its turn comes.
/// </summary>
internal sealed class HeldPieceBudget(int capacity)
{
    private int _held;

    /// <summary>The budget every download of the process shares.</summary>
    public static HeldPieceBudget Shared { get; } = new(TransferLimits.PiecesHeldForHashing);

    /// <summary>Pieces held at most, and how far ahead of the next one in order a hasher holds a piece.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>Takes one piece's place if one is free.</summary>
    public bool TryTake()
    {
        while (true)
        {
            int held = Volatile.Read(ref _held);
            if (held >= Capacity)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _held, held + 1, held) == held)
            {
                return true;
            }
        }
    }

    /// <summary>Gives a place back (its piece was hashed or released).</summary>
    public void Give() => Interlocked.Decrement(ref _held);

    /// <summary>Pieces held now.</summary>
    public int Held => Volatile.Read(ref _held);
}
