namespace P2PTransfer.Net;

/// <summary>
/// A transport's stream with its first bytes within reach: a server peeks at the first byte to tell a TLS
/// handshake from a plaintext Hello and hands it on unread; a dialer keeps the first bytes it received, to say
/// what answered when the TLS handshake fails. Writes pass straight through.
/// </summary>
internal sealed class LeadingBytesStream(Stream inner) : Stream
{
    /// <summary>Bytes kept of what was read first: enough for a protocol-1 Error frame at its largest.</summary>
    private const int KeptBytes = 1100;

    private readonly MemoryStream _kept = new();
    private int _peeked = -1;

    /// <summary>The first bytes read (up to about a kilobyte).</summary>
    public ReadOnlySpan<byte> FirstBytes => _kept.GetBuffer().AsSpan(0, (int)_kept.Length);

    /// <summary>Reads the first byte and keeps it for the next read; -1 when the stream ended before it.</summary>
    public async ValueTask<int> PeekByteAsync(CancellationToken cancellationToken)
    {
        var one = new byte[1];
        int n = await inner.ReadAsync(one, cancellationToken).ConfigureAwait(false);
        _peeked = n == 0 ? -1 : one[0];
        return _peeked;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        // Once the first bytes are kept and no byte is peeked, reads pass straight through.
        _peeked < 0 && _kept.Length >= KeptBytes ? inner.ReadAsync(buffer, cancellationToken) : ReadKeepingAsync(buffer, cancellationToken);

    private async ValueTask<int> ReadKeepingAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_peeked >= 0 && buffer.Length == 0)
        {
            // A byte is ready: a zero-byte read (waiting for data) returns at once.
            return 0;
        }

        if (_peeked >= 0)
        {
            buffer.Span[0] = (byte)_peeked;
            _peeked = -1;
            return 1;
        }

        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Keep(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Keep(ReadOnlySpan<byte> read)
    {
        int room = KeptBytes - (int)_kept.Length;
        if (room > 0)
        {
            _kept.Write(read[..Math.Min(room, read.Length)]);
        }
    }
}
