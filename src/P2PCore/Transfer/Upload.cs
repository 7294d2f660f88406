using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Transfer;

/// <summary>
/// Serving one downloader's connection: it answers PieceListRequest and PieceRequest for files found by hash in
/// the index. The connection holds an upload slot from its first request until it has had nothing under way for
/// <see cref="TransferLimits.UploadIdleAfter"/>; beyond the node's slots a request is refused 'busy'. While the
/// node is closing, files this upload already serves go on being served (until the drain timeout) and others are refused.
/// </summary>
internal sealed class Upload(UploadService service, FrameConnection connection, string downloader) : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, ServedFile> _open = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _recent = new();
    private WorkLease _lease;
    private bool _active;
    private bool _disposed;
    private int _inFlight;
    private long _lastActivity = Environment.TickCount64;

    public void Handle(IMessage request)
    {
        switch (request)
        {
            case PieceListRequest list:
                ServeList(list);
                break;
            case PieceRequest piece:
                ServePiece(piece);
                break;
        }
    }

    /// <summary>True while pieces the downloader asked for are still on their way to it.</summary>
    public bool HasPiecesInFlight => Volatile.Read(ref _inFlight) > 0;

    /// <summary>
    /// True when pieces wait to be sent but nothing has left for the slow reader's grace: the downloader asks
    /// but does not read. Its connection is then closed, so it cannot keep an upload slot from others.
    /// </summary>
    public bool IsStuck(ConnectionLiveness liveness) =>
        Volatile.Read(ref _inFlight) > 0 && liveness.HasStoppedReadingLargeFrames(Environment.TickCount64, connection.LastSent);

    /// <summary>Gives the slot back when nothing has been under way for a while (called on the node's keep-alive tick).</summary>
    public void ReleaseIfIdle()
    {
        // The tick serves every connection: it never waits for one that is busy opening a file.
        if (!Monitor.TryEnter(_gate))
        {
            return;
        }

        try
        {
            var idleAfter = (service.IsClosing ? TransferLimits.UploadIdleAfterWhileClosing : TransferLimits.UploadIdleAfter).TotalMilliseconds;
            if (_active && Volatile.Read(ref _inFlight) == 0 && Environment.TickCount64 - Volatile.Read(ref _lastActivity) >= idleAfter)
            {
                EndUpload();
            }
        }
        finally
        {
            Monitor.Exit(_gate);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            if (_active)
            {
                EndUpload();
            }

            CloseFiles();
        }
    }

    private void ServeList(PieceListRequest request)
    {
        if (Find(request.RequestId, request.Hash) is not { } file)
        {
            return;
        }

        if (request.FirstPiece > file.PieceCount)
        {
            Refuse(request.RequestId, ProtocolError.PieceOutOfRange, $"piece {request.FirstPiece} is out of range: the file with hash {file.Digest.Hash} has {file.PieceCount} piece(s)");
            return;
        }

        int first = (int)request.FirstPiece;
        int count = Math.Min(file.PieceCount - first, TransferLimits.MaxPieceHashesPerFrame);
        var hashes = file.Digest.PieceHashes.AsSpan(first * 32, count * 32).ToArray();
        Touch();
        if (connection.TrySend(new PieceList(request.RequestId, file.Size, request.FirstPiece, hashes)))
        {
            service.Counters.PieceListServed();
        }
    }

    private void ServePiece(PieceRequest request)
    {
        if (Find(request.RequestId, request.Hash) is not { } file)
        {
            return;
        }

        if (request.Piece >= file.PieceCount)
        {
            Refuse(request.RequestId, ProtocolError.PieceOutOfRange, $"piece {request.Piece} is out of range: the file with hash {file.Digest.Hash} has {file.PieceCount} piece(s), numbered from 0");
            return;
        }

        if (Interlocked.Increment(ref _inFlight) > ProtocolLimits.MaxPiecesInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            Refuse(request.RequestId, ProtocolError.NodeBusy, $"more than {ProtocolLimits.MaxPiecesInFlight} pieces requested at once from node {service.NodeName}");
            return;
        }

        int piece = (int)request.Piece;
        file.AddReference();
        var data = PieceData.ToSend(request.RequestId, request.Piece, file.PieceLength(piece), destination =>
        {
            file.Fill(piece, destination);
            file.Release();
            Touch();
            Interlocked.Decrement(ref _inFlight);
        });
        Touch();
        if (!connection.TrySend(data))
        {
            // The connection is closing (the queue cannot be full: answers in flight stay far below its size).
            file.Release();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>The open file for this content, opening it (and taking an upload slot) first if needed; null after refusing.</summary>
    private ServedFile? Find(uint requestId, byte[] hash)
    {
        var key = Convert.ToHexString(hash);
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            if (_active && _lease.Cancellation.IsCancellationRequested)
            {
                Refuse(requestId, ProtocolError.NodeClosing, $"node {service.NodeName} is shutting down: its drain timeout has passed");
                return null;
            }

            if (_open.TryGetValue(key, out var open))
            {
                // Under the lock: the idle release cannot close a file between this and its use.
                Touch();
                if (_recent.First!.Value != key)
                {
                    // Most requests are for the file asked for last: only a switch reorders the list.
                    _recent.Remove(key);
                    _recent.AddFirst(key);
                }

                return open;
            }

            // Looked up before a slot is taken: probing for unknown hashes cannot keep real downloaders waiting.
            if (service.Index.FindByHash(key) is not { } found)
            {
                Refuse(requestId, ProtocolError.UnknownFile, $"node {service.NodeName} shares no file with hash {key}");
                return null;
            }

            if (!_active)
            {
                if (!service.TryBegin(out _lease, out bool closing))
                {
                    if (closing)
                    {
                        Refuse(requestId, ProtocolError.NodeClosing, $"node {service.NodeName} is shutting down");
                    }
                    else
                    {
                        Refuse(requestId, ProtocolError.NodeBusy, $"node {service.NodeName} is busy: it serves {service.MaxUploads} downloader(s) at once");
                    }

                    return null;
                }

                _active = true;
            }
            else if (service.IsClosing)
            {
                // Closing: uploads under way finish, but take no new file.
                Refuse(requestId, ProtocolError.NodeClosing, $"node {service.NodeName} is shutting down");
                return null;
            }

            ServedFile file;
            try
            {
                file = ServedFile.Open(found.File, found.Digest, service.Counters);
            }
            catch (P2PException ex)
            {
                Refuse(requestId, ex.Code, $"node {service.NodeName}: {ex.Message}");
                return null;
            }

            Touch();
            _open[key] = file;
            _recent.AddFirst(key);
            if (_recent.Count > TransferLimits.OpenFilesPerUpload)
            {
                var oldest = _recent.Last!.Value;
                _recent.RemoveLast();
                if (_open.Remove(oldest, out var evicted))
                {
                    evicted.Release();
                }
            }

            return file;
        }
    }

    private void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

    private void Refuse(uint requestId, ProtocolError reason, string message)
    {
        if (reason == ProtocolError.NodeBusy)
        {
            service.Counters.RefusedBusy();
        }
        else
        {
            service.Counters.Refused();
        }

        Touch();
        connection.TrySend(TransferRefused.Create(requestId, reason, message));
    }

    private void EndUpload()
    {
        _active = false;
        service.End(ref _lease);
        CloseFiles();
    }

    private void CloseFiles()
    {
        foreach (var file in _open.Values)
        {
            file.Release();
        }

        _open.Clear();
        _recent.Clear();
    }

    public override string ToString() => $"upload to {downloader}";
}
