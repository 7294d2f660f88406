using System.IO.Pipelines;
using P2PTransfer.Net;

namespace P2PTransfer.Tests.Support;

/// <summary>One end of an in-memory connection: what one end writes, the other reads. No socket anywhere.</summary>
public sealed class InMemoryTransport : ITransportConnection
{
    private readonly Pipe _inbound;
    private readonly Pipe _outbound;

    private InMemoryTransport(Pipe inbound, Pipe outbound, string remoteAddress)
    {
        _inbound = inbound;
        _outbound = outbound;
        RemoteAddress = remoteAddress;
        Stream = new DuplexStream(inbound.Reader.AsStream(), outbound.Writer.AsStream());
    }

    public Stream Stream { get; }

    public string RemoteAddress { get; }

    /// <summary>Two connected ends.</summary>
    public static (InMemoryTransport A, InMemoryTransport B) Pair()
    {
        var toB = new Pipe();
        var toA = new Pipe();
        return (new InMemoryTransport(toA, toB, "memory:b"), new InMemoryTransport(toB, toA, "memory:a"));
    }

    public ValueTask ShutdownSendAsync()
    {
        _outbound.Writer.Complete();
        return ValueTask.CompletedTask;
    }

    public void Abort()
    {
        _outbound.Writer.Complete();
        _inbound.Reader.Complete();
    }

    public void Dispose() => Abort();

    /// <summary>Reads from one stream and writes to another.</summary>
    private sealed class DuplexStream(Stream read, Stream write) : Stream
    {
        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => read.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => read.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => write.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => write.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => write.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => write.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => write.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
