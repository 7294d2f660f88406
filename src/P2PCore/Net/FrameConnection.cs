using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Net;

/// <summary>
/// A connection that speaks frames over what a transport gives (<see cref="ITransportConnection"/>): a pipe-based
/// reader (one caller at a time) and a bounded send queue drained by one write loop, so any thread may send
/// without interleaving bytes of two frames.
/// </summary>
internal sealed class FrameConnection : IAsyncDisposable
{
    private static readonly TimeSpan CloseLinger = TimeSpan.FromSeconds(2);
    private const int FlushBatchBytes = 1024 * 1024;

    private readonly ITransportConnection _transport;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly Channel<IMessage> _outbox;
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _writeLoop;
    private IMessage? _lastFrame;
    private TaskCompletionSource _room = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastReceived = Environment.TickCount64;
    private long _lastLargeFrameProgress;
    private long _lastSent = Environment.TickCount64;
    private long _lastLargeFrameSent;
    private int _disposing;
    private int _reading;
    private int _readerCompleted;
    private int _flushing;
    private long _queuedBytes;
    private long _sendTicks;
    private Exception? _broken;

    /// <param name="transport">The connection, owned from here on.</param>
    /// <param name="readBufferSize">Least bytes read from the transport at a time: larger for connections that receive bulk data.</param>
    public FrameConnection(ITransportConnection transport, int readBufferSize = 16 * 1024)
    {
        _transport = transport;
        RemoteEndPoint = transport.RemoteAddress;
        var stream = _stream = transport.Stream;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: readBufferSize, minimumReadSize: Math.Min(readBufferSize, 64 * 1024), leaveOpen: true));
        // Small frames batch into buffers of at least 16 KiB, one TLS record each; large frames go out whole.
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));
        _outbox = Channel.CreateBounded<IMessage>(new BoundedChannelOptions(ProtocolLimits.SendQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _writeLoop = WriteLoopAsync();
    }

    /// <summary>What the frames travel over (a <see cref="TlsConnection"/> for every connection a node makes or takes).</summary>
    public ITransportConnection Transport => _transport;

    /// <summary>The remote address, as seen by this side.</summary>
    public string RemoteEndPoint { get; }

    public ConnectionCounters Counters { get; } = new();

    /// <summary>Set when the write loop failed for a reason other than the connection (a bug on this side).</summary>
    public Exception? WriteFailure { get; private set; }

    /// <summary>Milliseconds (Environment.TickCount64) when the last whole frame arrived; drives keep-alive.</summary>
    public long LastReceived => Interlocked.Read(ref _lastReceived);

    /// <summary>Frames at least this large (pieces, piece lists) show progress before they are whole: see <see cref="LastLargeFrameProgress"/>.</summary>
    public const int LargeFrameBytes = 64 * 1024;

    /// <summary>Milliseconds (Environment.TickCount64) when bytes of a large frame last arrived, whole or not; 0 before any.</summary>
    public long LastLargeFrameProgress => Interlocked.Read(ref _lastLargeFrameProgress);

    /// <summary>
    /// Reads the next message. Returns null when the remote closed cleanly between frames.
    /// Throws <see cref="ProtocolException"/> for bad input and <see cref="P2PException"/> (ConnectionLost) for a broken connection.
    /// </summary>
    public ValueTask<IMessage?> ReceiveAsync(int maxPayload, CancellationToken cancellationToken) => ReceiveAsync(maxPayload, null, cancellationToken);

    /// <summary>
    /// Reads the next message; <paramref name="refuse"/> judges its code from the header, before the payload is
    /// buffered or decoded (see <see cref="FrameCodec.TryReadFrame(ref System.Buffers.ReadOnlySequence{byte}, int, Func{MessageCode, ProtocolException?}?, out Frame)"/>).
    /// </summary>
    public async ValueTask<IMessage?> ReceiveAsync(int maxPayload, Func<MessageCode, ProtocolException?>? refuse, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _reading, 1);
        try
        {
            return await ReceiveCoreAsync(maxPayload, refuse, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
            if (Volatile.Read(ref _disposing) != 0)
            {
                CompleteReader();
            }
        }
    }

    /// <summary>Milliseconds (Environment.TickCount64) when frames were last handed to the transport: shows a remote still reading.</summary>
    public long LastSent => Interlocked.Read(ref _lastSent);

    /// <summary>
    /// Milliseconds (Environment.TickCount64) when a large frame was last handed to the transport; 0 before any. The
    /// kernel's buffers still hold its tail for the remote to read, which a slow remote may take seconds to do.
    /// </summary>
    public long LastLargeFrameSent => Interlocked.Read(ref _lastLargeFrameSent);

    /// <summary>The connection's clock readings now, for <see cref="ConnectionLiveness"/>.</summary>
    public ConnectionActivity Activity => new(LastReceived, LastSent, LastLargeFrameSent, IsSending);

    /// <summary>True while frames wait to be sent or are being written to the transport.</summary>
    public bool IsSending => _outbox.Reader.Count > 0 || Volatile.Read(ref _flushing) != 0;

    /// <summary>Frames waiting in the send queue.</summary>
    public int QueuedFrames => _outbox.Reader.Count;

    /// <summary>Bytes of the frames waiting in the send queue (the memory they hold, roughly).</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>
    /// The time the write loop spent encoding frames and handing them to the transport (TLS included when that took
    /// them at once) since the last call: the node's work of sending to this remote, for whoever pays for it.
    /// </summary>
    public TimeSpan TakeSendTime() => TimeSpan.FromTicks(Interlocked.Exchange(ref _sendTicks, 0));

    /// <summary>
    /// Waits until the send queue holds fewer than <paramref name="maxQueued"/> frames, or the connection is closing
    /// (the send that follows then reports it). Traffic that may wait uses it to leave the rest of the queue to
    /// control replies (a Pong, a goodbye), which must never find it full.
    /// </summary>
    public async ValueTask WaitForRoomAsync(int maxQueued, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Taken before the count is read: a frame that leaves after the read signals this one (or a newer one).
            var room = Volatile.Read(ref _room);
            if (_outbox.Reader.Count < maxQueued || _outbox.Reader.Completion.IsCompleted || Volatile.Read(ref _disposing) != 0)
            {
                return;
            }

            await room.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Queues a message if the send queue has room; false when it is full or the connection is closing.</summary>
    public bool TrySend(IMessage message)
    {
        if (!_outbox.Writer.TryWrite(message))
        {
            return false;
        }

        Interlocked.Add(ref _queuedBytes, FrameCodec.GetFrameLength(message));
        return true;
    }

    /// <summary>Queues a message, waiting while the send queue is full (backpressure).</summary>
    public async ValueTask SendAsync(IMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _outbox.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _queuedBytes, FrameCodec.GetFrameLength(message));
        }
        catch (ChannelClosedException ex)
        {
            throw Lost(ex);
        }
    }

    /// <summary>
    /// Closes a connection whose reader this caller owns (no read loop is using it, or the caller is that loop
    /// ending): sends <paramref name="last"/> after what is queued, half-closes, reads and discards until the remote
    /// closes too, and releases everything. Closing with unread input would reset the connection and could destroy
    /// the last frame in flight. Bounded in time.
    /// </summary>
    public async Task CloseAsync(IMessage? last)
    {
        await RequestCloseAsync(last).ConfigureAwait(false);
        if (Volatile.Read(ref _disposing) == 0)
        {
            await DrainInputAsync(CloseLinger).ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// From any thread: sends <paramref name="last"/> after what is queued (even when the queue is full), waits for
    /// it to be written, and half-closes, so the remote reads it and then sees the end of the stream. The reader's
    /// owner finishes the close (<see cref="CloseAsync"/>); see <see cref="WhenClosedAsync"/>. Bounded in time.
    /// </summary>
    public async Task RequestCloseAsync(IMessage? last)
    {
        if (last is not null && !TrySend(last))
        {
            Interlocked.CompareExchange(ref _lastFrame, last, null);
        }

        _outbox.Writer.TryComplete();
        if (await Within(_writeLoop, CloseLinger).ConfigureAwait(false) && Volatile.Read(ref _disposing) == 0)
        {
            try
            {
                await _transport.ShutdownSendAsync().AsTask().WaitAsync(CloseLinger).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsSocketFailure(ex) || ex is TimeoutException or InvalidOperationException or NotSupportedException)
            {
                // Gone, or the remote does not read: the close goes on without the end-of-stream mark.
            }
        }
    }

    /// <summary>Waits for the reader's owner to finish the close; forces it when that takes longer than the linger.</summary>
    public async Task WhenClosedAsync()
    {
        if (!await Within(_disposed.Task, CloseLinger).ConfigureAwait(false))
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) != 0)
        {
            await _disposed.Task.ConfigureAwait(false);
            return;
        }

        _outbox.Writer.TryComplete();
        _abort.Cancel();
        _transport.Dispose();
        await _writeLoop.ConfigureAwait(false);
        try
        {
            // Returns the writer's pooled buffers; anything still unflushed has nowhere to go.
            await _writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsSocketFailure(ex))
        {
        }

        if (Volatile.Read(ref _reading) == 0)
        {
            CompleteReader();
        }

        _abort.Dispose();
        _disposed.TrySetResult();
    }

    private async ValueTask<IMessage?> ReceiveCoreAsync(int maxPayload, Func<MessageCode, ProtocolException?>? refuse, CancellationToken cancellationToken)
    {
        if (_broken is { } broken)
        {
            throw broken;
        }

        PieceData? direct = null;
        var pieceRest = Memory<byte>.Empty;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsSocketFailure(ex) || ex is InvalidOperationException)
            {
                throw Lost(ex);
            }

            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            try
            {
                if (FrameCodec.TryReadFrame(ref buffer, maxPayload, refuse, out var frame))
                {
                    var message = MessageDecoder.Decode(frame);
                    Counters.Received(ProtocolLimits.FrameHeaderLength + frame.Payload.Length);
                    Interlocked.Exchange(ref _lastReceived, Environment.TickCount64);
                    consumed = buffer.Start;
                    examined = consumed;
                    return message;
                }

                if (FrameCodec.DeclaredPayloadLength(buffer) >= LargeFrameBytes)
                {
                    // Bytes of a large frame (a piece) arrived: a slow link is making progress.
                    Interlocked.Exchange(ref _lastLargeFrameProgress, Environment.TickCount64);
                    if (PieceData.TryStartReceiving(buffer, out direct, out var rest))
                    {
                        // Its header is judged (TryReadFrame threw otherwise) and everything buffered is its.
                        consumed = buffer.End;
                        examined = buffer.End;
                        pieceRest = rest;
                        break;
                    }
                }

                if (result.IsCompleted)
                {
                    if (buffer.IsEmpty)
                    {
                        return null;
                    }

                    throw new ProtocolException(ProtocolError.TruncatedFrame, $"connection closed in the middle of a frame ({buffer.Length} bytes left over)");
                }

                if (result.IsCanceled)
                {
                    throw new OperationCanceledException(cancellationToken);
                }
            }
            finally
            {
                _reader.AdvanceTo(consumed, examined);
            }
        }

        return await ReceiveRestOfPieceAsync(direct!, pieceRest, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The rest of a piece, read from the transport straight into the piece's buffer: one copy fewer than through
    /// the pipe, and one pass per read instead of one per TLS record. The pipe holds nothing then (everything it
    /// held was the piece's) and reads again only when asked.
    /// </summary>
    private async ValueTask<IMessage> ReceiveRestOfPieceAsync(PieceData piece, Memory<byte> rest, CancellationToken cancellationToken)
    {
        try
        {
            while (!rest.IsEmpty)
            {
                int n = await _stream.ReadAsync(rest, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new ProtocolException(ProtocolError.TruncatedFrame, $"connection closed in the middle of a frame ({rest.Length} bytes of a piece missing)");
                }

                rest = rest[n..];
                Interlocked.Exchange(ref _lastLargeFrameProgress, Environment.TickCount64);
            }
        }
        catch (Exception ex)
        {
            piece.Release();
            // Part of a frame has been taken from the stream: nothing after it can be read as frames.
            _broken = new P2PException(ProtocolError.ConnectionLost, $"connection to {RemoteEndPoint} broke in the middle of a piece ({ex.Message})", ex);
            if (ex is ProtocolException or OperationCanceledException)
            {
                throw;
            }

            throw Lost(ex);
        }

        Counters.Received(ProtocolLimits.FrameHeaderLength + piece.PayloadLength);
        Interlocked.Exchange(ref _lastReceived, Environment.TickCount64);
        return piece;
    }

    private async Task WriteLoopAsync()
    {
        var outbox = _outbox.Reader;
        try
        {
            while (await outbox.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                // At most about 1 MiB goes to the transport per flush: writers refilling the queue as fast as it drains
                // must not move everything into the writer's memory past a remote that does not read.
                int batched = 0;
                bool large = false;
                long started = Stopwatch.GetTimestamp();
                while (batched < FlushBatchBytes && outbox.TryRead(out var message))
                {
                    int written = FrameCodec.Write(message, _writer);
                    Counters.Sent(written);
                    batched += written;
                    large |= written >= LargeFrameBytes;
                }

                Interlocked.Add(ref _queuedBytes, -batched);
                SignalRoom();

                Volatile.Write(ref _flushing, 1);
                var flushing = _writer.FlushAsync(_abort.Token);
                // Encrypting and writing is work done for the remote too; waiting for a slow remote to read is not.
                Interlocked.Add(ref _sendTicks, Stopwatch.GetElapsedTime(started).Ticks);
                var flush = await flushing.ConfigureAwait(false);
                Volatile.Write(ref _flushing, 0);
                long now = Environment.TickCount64;
                Interlocked.Exchange(ref _lastSent, now);
                if (large)
                {
                    Interlocked.Exchange(ref _lastLargeFrameSent, now);
                }
                if (flush.IsCompleted)
                {
                    return;
                }
            }

            // The queue was full when the closing frame came: it goes last, after everything queued.
            if (Volatile.Read(ref _lastFrame) is { } last)
            {
                Counters.Sent(FrameCodec.Write(last, _writer));
                await _writer.FlushAsync(_abort.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException || IsSocketFailure(ex))
        {
            // The read side sees the same failure and reports it; nothing is lost by ending here.
        }
        catch (Exception ex)
        {
            // A frame that cannot be written is a bug on this side: end the connection so the reader reports it.
            WriteFailure = ex;
            _transport.Abort();
        }
        finally
        {
            _outbox.Writer.TryComplete();
            SignalRoom();
        }
    }

    /// <summary>Frames left the send queue (or it will take no more): wakes whoever waits for room.</summary>
    private void SignalRoom() =>
        Interlocked.Exchange(ref _room, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Reads and discards until the remote closes its side, bounded in time.</summary>
    private async Task DrainInputAsync(TimeSpan within)
    {
        using var timer = new CancellationTokenSource(within);
        Volatile.Write(ref _reading, 1);
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(timer.Token).ConfigureAwait(false);
                _reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException || IsSocketFailure(ex))
        {
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
            if (Volatile.Read(ref _disposing) != 0)
            {
                CompleteReader();
            }
        }
    }

    private void CompleteReader()
    {
        if (Interlocked.Exchange(ref _readerCompleted, 1) == 0)
        {
            _reader.Complete();
        }
    }

    /// <summary>Waits for a task that never faults (the write loop, the disposal signal) up to a time limit.</summary>
    private static async Task<bool> Within(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private P2PException Lost(Exception ex) =>
        new(ProtocolError.ConnectionLost, $"connection to {RemoteEndPoint} lost: {ex.Message}", ex);

    internal static bool IsSocketFailure(Exception ex) =>
        ex is IOException or SocketException or ObjectDisposedException or ChannelClosedException;
}
