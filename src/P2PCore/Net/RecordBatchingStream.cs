using System.Buffers;

namespace P2PTransfer.Net;

/// <summary>
/// The transport under <see cref="System.Net.Security.SslStream"/>, in large chunks: SslStream reads and writes one
/// TLS record (16 KiB) at a time, a system call each, where a piece is 1 MiB. Reads take up to
/// <see cref="ChunkBytes"/> from the transport at once and hand them out record by record; once
/// <see cref="BatchWrites"/> is set (after the handshake), written records gather until a flush (or a full chunk).
/// Buffers come from the shared pool and go back when empty, so an idle connection holds none (one in use when the
/// connection ends is left to the garbage collector: a read may still be copying from it).
/// </summary>
internal sealed class RecordBatchingStream(Stream inner) : Stream
{
    /// <summary>Bytes read from or written to the transport at once, at most.</summary>
    public const int ChunkBytes = 256 * 1024;

    // Reads at least this large go straight to the caller's buffer: nothing to gain from a copy.
    private const int DirectReadBytes = 64 * 1024;

    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private byte[]? _readBuffer;
    private int _readStart;
    private int _readEnd;
    private byte[]? _writeBuffer;
    private int _written;
    private bool _readable;

    /// <summary>
    /// Gather written bytes until <see cref="FlushAsync(CancellationToken)"/>. Off during the TLS handshake, whose
    /// flights must leave when written; set once it is done: every later write is followed by a flush.
    /// </summary>
    public bool BatchWrites { get; set; }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        // Most reads are served from the chunk: no asynchronous machinery for those.
        _readEnd > _readStart ? new ValueTask<int>(TakeBuffered(buffer.Span)) : ReadFromInnerAsync(buffer, cancellationToken);

    private async ValueTask<int> ReadFromInnerAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length == 0)
        {
            // The caller waits for data without a buffer (SslStream does before each record): the read after it need not.
            int none = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _readable = true;
            return none;
        }

        if (buffer.Length >= DirectReadBytes)
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        if (!_readable)
        {
            // Waits for data without holding a buffer (an idle connection keeps none), then takes all there is.
            await inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }

        _readable = false;
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        int n;
        try
        {
            n = await inner.ReadAsync(chunk.AsMemory(0, ChunkBytes), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(chunk);
            throw;
        }

        if (n <= buffer.Length)
        {
            chunk.AsSpan(0, n).CopyTo(buffer.Span);
            ArrayPool<byte>.Shared.Return(chunk);
            return n;
        }

        _readBuffer = chunk;
        _readStart = 0;
        _readEnd = n;
        return TakeBuffered(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_readEnd > _readStart)
        {
            return TakeBuffered(buffer.AsSpan(offset, count));
        }

        return inner.Read(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        if (BatchWrites && _writeGate.Wait(0))
        {
            // A record that fits the batch is copied there at once: most writes, without asynchronous machinery.
            bool fits = _written + buffer.Length <= ChunkBytes;
            if (fits)
            {
                AddToBatch(buffer.Span);
            }

            _writeGate.Release();
            if (fits)
            {
                return ValueTask.CompletedTask;
            }
        }

        return WriteThroughGateAsync(buffer, cancellationToken);
    }

    private async ValueTask WriteThroughGateAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!BatchWrites)
            {
                await SendBatchAsync(cancellationToken).ConfigureAwait(false);
                await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (_written + buffer.Length > ChunkBytes)
            {
                await SendBatchAsync(cancellationToken).ConfigureAwait(false);
                if (buffer.Length > ChunkBytes)
                {
                    await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }

            AddToBatch(buffer.Span);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        // SslStream writes asynchronously; a synchronous caller gets the bytes sent at once, after any batch.
        _writeGate.Wait();
        try
        {
            if (_written > 0)
            {
                inner.Write(_writeBuffer!, 0, _written);
                ReturnWriteBuffer();
            }

            inner.Write(buffer, offset, count);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SendBatchAsync(cancellationToken).ConfigureAwait(false);
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private int TakeBuffered(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _readEnd - _readStart);
        _readBuffer.AsSpan(_readStart, n).CopyTo(destination);
        _readStart += n;
        if (_readStart == _readEnd)
        {
            ArrayPool<byte>.Shared.Return(_readBuffer!);
            _readBuffer = null;
            _readStart = _readEnd = 0;
        }

        return n;
    }

    /// <summary>Copies a record into the batch (it fits: the caller checked), under the write gate.</summary>
    private void AddToBatch(ReadOnlySpan<byte> record)
    {
        _writeBuffer ??= ArrayPool<byte>.Shared.Rent(ChunkBytes);
        record.CopyTo(_writeBuffer.AsSpan(_written));
        _written += record.Length;
    }

    private async ValueTask SendBatchAsync(CancellationToken cancellationToken)
    {
        if (_written == 0)
        {
            return;
        }

        try
        {
            await inner.WriteAsync(_writeBuffer.AsMemory(0, _written), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ReturnWriteBuffer();
        }
    }

    private void ReturnWriteBuffer()
    {
        if (_writeBuffer is { } buffer)
        {
            _writeBuffer = null;
            _written = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
