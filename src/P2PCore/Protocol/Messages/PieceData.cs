using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace P2PTransfer.Protocol.Messages;

/// <summary>
/// Server → downloader: one piece's bytes. A server fills the frame straight from the file as the frame is written
/// (no intermediate buffer); a receiver gets the bytes in a pooled buffer that it must <see cref="Release"/>.
/// </summary>
internal sealed class PieceData : IMessage
{
    // Pieces are 1 MiB: the shared pool keeps only a few arrays that size per core, and a downloader has dozens in
    // flight, so misses would allocate on the large object heap all the time. A pool of their own keeps them.
    private static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(ProtocolLimits.PieceSize, 64);
    private readonly PieceFiller? _fill;
    private byte[]? _buffer;

    private PieceData(uint requestId, uint piece, int length, PieceFiller? fill, byte[]? buffer)
    {
        RequestId = requestId;
        Piece = piece;
        Length = length;
        _fill = fill;
        _buffer = buffer;
    }

    /// <summary>Writes a piece's bytes into the frame being sent.</summary>
    public delegate void PieceFiller(Span<byte> destination);

    public MessageCode Code => MessageCode.PieceData;

    public uint RequestId { get; }

    public uint Piece { get; }

    public int Length { get; }

    public int PayloadLength => 8 + Length;

    /// <summary>The received bytes (valid until <see cref="Release"/>).</summary>
    public ReadOnlyMemory<byte> Data => _buffer is { } buffer ? buffer.AsMemory(0, Length) : throw new ObjectDisposedException(nameof(PieceData));

    /// <summary>A piece to send; <paramref name="fill"/> runs on the connection's write loop when the frame goes out.</summary>
    public static PieceData ToSend(uint requestId, uint piece, int length, PieceFiller fill) => new(requestId, piece, length, fill, null);

    /// <summary>A piece held in memory (tests, and senders that already have the bytes).</summary>
    public static PieceData FromBytes(uint requestId, uint piece, ReadOnlySpan<byte> data)
    {
        var buffer = Buffers.Rent(Math.Max(1, data.Length));
        data.CopyTo(buffer);
        return new PieceData(requestId, piece, data.Length, null, buffer);
    }

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(RequestId);
        writer.WriteUInt32(Piece);
        var destination = writer.Reserve(Length);
        if (_fill is not null)
        {
            _fill(destination);
        }
        else
        {
            Data.Span.CopyTo(destination);
        }
    }

    /// <summary>Gives the buffer back to the pool; the data must not be used afterwards.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            Buffers.Return(buffer);
        }
    }

    /// <summary>
    /// A piece about to be received: its buffer (<paramref name="destination"/>, <paramref name="length"/> bytes) is
    /// filled by the caller straight from the connection, without a copy through the frame reader's buffers.
    /// </summary>
    private static PieceData Receiving(uint requestId, uint piece, int length, out Memory<byte> destination)
    {
        var buffer = Buffers.Rent(Math.Max(1, length));
        destination = buffer.AsMemory(0, length);
        return new PieceData(requestId, piece, length, null, buffer);
    }

    /// <summary>
    /// For a frame reader holding the start of a frame that is not whole yet, its header judged already: when it is a
    /// PieceData frame whose ids are in, a piece holding the bytes of it that are buffered, and in
    /// <paramref name="rest"/> the part of its buffer still to be read (never empty). False for any other frame.
    /// </summary>
    public static bool TryStartReceiving(in ReadOnlySequence<byte> buffered, [NotNullWhen(true)] out PieceData? piece, out Memory<byte> rest)
    {
        const int prefix = ProtocolLimits.FrameHeaderLength + 8;
        piece = null;
        rest = Memory<byte>.Empty;
        if (buffered.Length < prefix)
        {
            return false;
        }

        Span<byte> head = stackalloc byte[prefix];
        buffered.Slice(0, prefix).CopyTo(head);
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(head[2..]) - 8;
        if ((MessageCode)head[0] != MessageCode.PieceData || buffered.Length - prefix >= length)
        {
            return false;
        }

        piece = Receiving(BinaryPrimitives.ReadUInt32BigEndian(head[6..]), BinaryPrimitives.ReadUInt32BigEndian(head[10..]), length, out var destination);
        var have = buffered.Slice(prefix);
        have.CopyTo(destination.Span);
        rest = destination[(int)have.Length..];
        return true;
    }

    public static PieceData Read(ref PayloadReader reader)
    {
        uint id = reader.ReadUInt32();
        uint piece = reader.ReadUInt32();
        int length = (int)reader.Remaining;
        var buffer = Buffers.Rent(Math.Max(1, length));
        reader.ReadInto(buffer.AsSpan(0, length));
        return new PieceData(id, piece, length, null, buffer);
    }
}
