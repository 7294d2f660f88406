using P2PTransfer.Net;

namespace P2PTransfer.Tests.Net;

/// <summary>
/// The transport under TLS takes records in batches: written records reach the transport at each flush (or when a
/// chunk is full), never one system call each, and reads take what the transport has in large chunks, handed out
/// record by record; during the handshake every write goes out at once.
/// </summary>
public sealed class RecordBatchingStreamTests
{
    private const int Record = 16 * 1024 + 22;

    [Fact]
    public async Task Records_written_after_the_handshake_reach_the_transport_together_at_the_flush_in_order()
    {
        var transport = new CountingStream(new MemoryStream());
        var stream = new RecordBatchingStream(transport) { BatchWrites = true };
        var records = Enumerable.Range(0, 10).Select(i => Enumerable.Repeat((byte)i, Record).ToArray()).ToList();

        foreach (var record in records)
        {
            await stream.WriteAsync(record);
        }

        Assert.Equal(0, transport.Writes);
        await stream.FlushAsync();

        Assert.Equal(1, transport.Writes);
        Assert.Equal(records.SelectMany(r => r), transport.Written);
    }

    [Fact]
    public async Task A_full_chunk_goes_out_before_the_flush_and_handshake_writes_go_out_at_once()
    {
        var transport = new CountingStream(new MemoryStream());
        var stream = new RecordBatchingStream(transport);
        await stream.WriteAsync(new byte[100]);
        Assert.Equal(1, transport.Writes);

        stream.BatchWrites = true;
        int perChunk = RecordBatchingStream.ChunkBytes / Record;
        for (int i = 0; i <= perChunk; i++)
        {
            await stream.WriteAsync(new byte[Record]);
        }

        Assert.Equal(2, transport.Writes);
        await stream.FlushAsync();
        Assert.Equal(3, transport.Writes);
        Assert.Equal(100 + ((perChunk + 1) * Record), transport.Written.Count);
    }

    [Fact]
    public async Task Small_reads_are_served_from_one_large_read_of_the_transport_in_order()
    {
        var data = Enumerable.Range(0, 10 * Record).Select(i => (byte)(i * 7)).ToArray();
        var transport = new CountingStream(new MemoryStream(data));
        var stream = new RecordBatchingStream(transport);
        var read = new List<byte>();
        var buffer = new byte[Record];

        for (int n; (n = await stream.ReadAsync(buffer)) > 0;)
        {
            read.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        Assert.Equal(data, read);
        // One chunk held it all; the end of the stream is one more.
        Assert.Equal(2, transport.Reads);
    }

    /// <summary>A stream that counts the reads and writes that carry bytes, and keeps what was written.</summary>
    private sealed class CountingStream(MemoryStream inner) : Stream
    {
        public int Reads { get; private set; }

        public int Writes { get; private set; }

        public List<byte> Written { get; } = [];

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.Length > 0)
            {
                Reads++;
            }

            return ValueTask.FromResult(inner.Read(buffer.Span));
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes++;
            Written.AddRange(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().Result;

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().Wait();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
