namespace P2PTransfer.Net;

/// <summary>Traffic of one connection. Updated by its read and write loops, read by anyone.</summary>
internal sealed class ConnectionCounters
{
    private long _bytesSent;
    private long _bytesReceived;
    private long _framesSent;
    private long _framesReceived;

    public long BytesSent => Interlocked.Read(ref _bytesSent);
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    public long FramesSent => Interlocked.Read(ref _framesSent);
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    internal void Sent(int bytes)
    {
        Interlocked.Add(ref _bytesSent, bytes);
        Interlocked.Increment(ref _framesSent);
    }

    internal void Received(long bytes)
    {
        Interlocked.Add(ref _bytesReceived, bytes);
        Interlocked.Increment(ref _framesReceived);
    }
}
