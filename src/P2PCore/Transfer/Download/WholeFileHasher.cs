using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Transfer;

/// <summary>
/// Computes the SHA-256 of the whole file as its pieces are verified, in order, on a task of its own (beside the
/// piece checks). A piece that is next in order is hashed from the buffer it arrived in, while it is still in the
/// CPU's cache; a piece verified out of order (another source, or an earlier run) is read back from the partial file.
/// </summary>
internal sealed class WholeFileHasher : IDisposable
{
    private const int MaxHeld = 8;
    private readonly object _gate = new();
    private readonly PartialFile _file;
    private readonly Dictionary<int, PieceData> _held = [];
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _next;

    public WholeFileHasher(PartialFile file) => _file = file;

    /// <summary>
    /// Offers a verified piece still in memory: when the hasher can use it, it takes the buffer over (and releases it
    /// once hashed); otherwise the caller keeps it.
    /// </summary>
    public void Offer(int piece, ref OwnedPiece data)
    {
        lock (_gate)
        {
            if (piece >= _next && piece < _next + MaxHeld && _held.TryAdd(piece, data.Piece))
            {
                data.HandOver();
            }
        }

        // Taken or not, the piece is verified: the hasher may go on (reading it back when it was not taken).
        Signal();
    }

    /// <summary>Wakes the hasher: a piece was verified.</summary>
    private void Signal() => _signal.Writer.TryWrite(true);

    /// <summary>Hashes every piece in order as it becomes verified; returns the whole file's SHA-256.</summary>
    public async Task<byte[]> RunAsync(CancellationToken cancellationToken)
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
                lock (_gate)
                {
                    _held.Remove(_next, out held);
                }

                if (held is not null)
                {
                    sha.AppendData(held.Data.Span);
                    held.Release();
                }
                else if (_file.Verified.Contains(_next))
                {
                    readBack ??= ArrayPool<byte>.Shared.Rent(TransferLimits.PieceSize);
                    var span = readBack.AsSpan(0, TransferLimits.PieceLength(_file.Size, _next));
                    _file.ReadPiece(_next, span);
                    sha.AppendData(span);
                }
                else
                {
                    await _signal.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
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
            }

            _held.Clear();
            _next = int.MaxValue / 2;
        }
    }
}
