using System.Buffers;
using System.Security.Cryptography;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Transfer;

/// <summary>
/// Computes the SHA-256 of the whole file as its pieces are verified, in order, on a thread of its own (it waits for
/// the next piece there, which a pool thread must not). A piece offered within <see cref="HeldPieceBudget.Capacity"/>
/// of the next one in order is held in the buffer it arrived in until its turn, while the process's budget of held
/// pieces lasts (several sources deliver a few dozen pieces out of order); one further ahead or beyond the budget, and
/// one an earlier run verified, is read back from the partial file. A piece verified in this run waits for its offer: read back before it, it would be read
/// from disk while its buffer was on its way. While it is behind, sources run no further ahead than it holds
/// (<see cref="Horizon"/>).
/// </summary>
internal sealed class WholeFileHasher : IDisposable
{
    private readonly HeldPieceBudget _budget;
    private readonly object _gate = new();
    private readonly PartialFile _file;
    private readonly bool[] _readable;
    private readonly Dictionary<int, PieceData> _held = [];
    // Not disposed: it holds no kernel object unless its WaitHandle is asked for (never), and an offer may still
    // set it after Dispose.
    private readonly ManualResetEventSlim _signal = new(false);
    private int _next;
    private bool _waitingForNext;

    /// <param name="budget">The pieces all hashers of the process may hold at once (<see cref="HeldPieceBudget.Shared"/> unless a test gives its own).</param>
    public WholeFileHasher(PartialFile file, HeldPieceBudget? budget = null)
    {
        _file = file;
        _budget = budget ?? HeldPieceBudget.Shared;
        // Pieces an earlier run verified are read back; the others wait for their offer.
        _readable = new bool[file.PieceCount];
        for (int piece = 0; piece < _readable.Length; piece++)
        {
            _readable[piece] = file.Verified.Contains(piece);
        }

        _waitingForNext = _readable.Length == 0 || !_readable[0];
    }

    /// <summary>
    /// How far ahead sources with pieces under way may request (<see cref="PiecePacing"/>): while this hasher has
    /// the next piece in order to hash (it is behind: short of processor time), the first piece it would not hold if
    /// it arrived now; while it waits for that piece (it keeps up, or that piece is late), no limit.
    /// </summary>
    public int Horizon
    {
        get
        {
            lock (_gate)
            {
                return _waitingForNext ? int.MaxValue : _next + _budget.Capacity;
            }
        }
    }

    /// <summary>Pieces hashed from the partial file rather than from the buffer they arrived in.</summary>
    public int PiecesReadBack { get; private set; }

    /// <summary>
    /// Offers a verified piece still in memory: when the hasher can use it, it takes the buffer over (and releases it
    /// once hashed); otherwise the caller keeps it.
    /// </summary>
    public void Offer(int piece, ref OwnedPiece data)
    {
        lock (_gate)
        {
            if (piece >= _next && piece < _next + _budget.Capacity && !_held.ContainsKey(piece) && _budget.TryTake())
            {
                _held.Add(piece, data.HandOver());
            }
            else if (piece >= 0 && piece < _readable.Length)
            {
                _readable[piece] = true;
            }

            if (piece == _next)
            {
                _waitingForNext = false;
            }
        }

        // Taken or not, the piece is verified: the hasher may go on (reading it back when it was not taken).
        Signal();
    }

    /// <summary>Wakes the hasher: a piece was verified.</summary>
    private void Signal() => _signal.Set();

    /// <summary>Hashes every piece in order as it becomes verified, on a thread of its own; returns the whole file's SHA-256.</summary>
    public Task<byte[]> RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private byte[] Run(CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[]? readBack = null;
        try
        {
            int count = _file.PieceCount;
            while (_next < count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                PieceData? held;
                bool readable;
                lock (_gate)
                {
                    _held.Remove(_next, out held);
                    readable = _readable[_next];
                    _waitingForNext = held is null && !readable;
                }

                if (held is not null)
                {
                    sha.AppendData(held.Data.Span);
                    held.Release();
                    _budget.Give();
                }
                else if (readable)
                {
                    readBack ??= ArrayPool<byte>.Shared.Rent(TransferLimits.PieceSize);
                    var span = readBack.AsSpan(0, TransferLimits.PieceLength(_file.Size, _next));
                    _file.ReadPiece(_next, span);
                    sha.AppendData(span);
                    PiecesReadBack++;
                }
                else
                {
                    // Reset before the next look: an offer made after it sets the signal again.
                    _signal.Wait(cancellationToken);
                    _signal.Reset();
                    continue;
                }

                lock (_gate)
                {
                    _next++;
                }
            }

            return sha.GetHashAndReset();
        }
        finally
        {
            if (readBack is not null)
            {
                ArrayPool<byte>.Shared.Return(readBack);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var data in _held.Values)
            {
                data.Release();
                _budget.Give();
            }

            _held.Clear();
            _next = int.MaxValue / 2;
        }
    }
}
