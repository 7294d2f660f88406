namespace P2PTransfer.Transfer;

/// <summary>What a node's uploads (its server side of transfers) have done since it started; shown by Get-P2PNode as TransferCounters.</summary>
public sealed class UploadCounters
{
    private long _uploadsStarted;
    private long _uploadsActive;
    private long _uploadsRefusedBusy;
    private long _requestsRefused;
    private long _piecesServed;
    private long _bytesServed;
    private long _pieceListsServed;
    private long _readFailures;

    /// <summary>Downloaders that were given an upload slot.</summary>
    public long UploadsStarted => Interlocked.Read(ref _uploadsStarted);

    /// <summary>Uploads holding a slot now.</summary>
    public long UploadsActive => Interlocked.Read(ref _uploadsActive);

    /// <summary>Requests answered 'busy' because every upload slot was taken.</summary>
    public long UploadsRefusedBusy => Interlocked.Read(ref _uploadsRefusedBusy);

    /// <summary>Requests refused for another reason: unknown content, a piece out of range, a file changed on disk, closing.</summary>
    public long RequestsRefused => Interlocked.Read(ref _requestsRefused);

    public long PiecesServed => Interlocked.Read(ref _piecesServed);

    public long BytesServed => Interlocked.Read(ref _bytesServed);

    public long PieceListsServed => Interlocked.Read(ref _pieceListsServed);

    /// <summary>Pieces whose file could not be read as it was sent (the downloader sees bad data and uses another source).</summary>
    public long ReadFailures => Interlocked.Read(ref _readFailures);

    internal void UploadStarted()
    {
        Interlocked.Increment(ref _uploadsStarted);
        Interlocked.Increment(ref _uploadsActive);
    }

    internal void UploadEnded() => Interlocked.Decrement(ref _uploadsActive);

    internal void RefusedBusy() => Interlocked.Increment(ref _uploadsRefusedBusy);

    internal void Refused() => Interlocked.Increment(ref _requestsRefused);

    internal void PieceServed(int bytes)
    {
        Interlocked.Increment(ref _piecesServed);
        Interlocked.Add(ref _bytesServed, bytes);
    }

    internal void PieceListServed() => Interlocked.Increment(ref _pieceListsServed);

    internal void ReadFailed() => Interlocked.Increment(ref _readFailures);
}
