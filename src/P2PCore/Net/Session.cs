using System.Collections.Concurrent;
using System.Diagnostics;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Net;

/// <summary>
/// A connection after its handshake: one read loop that answers keep-alives, follows the remote's status and
/// closes cleanly on Bye, Error or a protocol violation. Subclasses handle the requests of their role.
/// </summary>
internal abstract class Session
{
    private readonly ConcurrentDictionary<ulong, (long SentAt, TaskCompletionSource<TimeSpan> Reply)> _pings = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _endLock = new();
    private readonly Func<MessageCode, ProtocolException?> _refuseCode;
    private long _nextNonce = Random.Shared.NextInt64();
    private long _keepAliveSentAt;
    private ulong _keepAliveNonce;
    private int _closing;
    private int _ending;
    private int _remoteAvailability;
    private Task _closeTask = Task.CompletedTask;
    private ProtocolError _closeReason;
    private string? _closeMessage;

    protected Session(FrameConnection connection, Guid remoteId, string remoteName, string remoteEndpoint, NodeAvailability remoteAvailability)
    {
        Connection = connection;
        RemoteId = remoteId;
        RemoteName = remoteName;
        RemoteEndpoint = remoteEndpoint;
        _remoteAvailability = (int)remoteAvailability;
        Since = DateTimeOffset.Now;
        CreatedAt = Environment.TickCount64;
        _refuseCode = RefuseCode;
    }

    public FrameConnection Connection { get; }

    public Guid RemoteId { get; }

    public string RemoteName { get; }

    /// <summary>The remote's advertised endpoint, or its socket address when it advertises none (clients).</summary>
    public string RemoteEndpoint { get; }

    public DateTimeOffset Since { get; }

    /// <summary>When this session was made (Environment.TickCount64); orders sessions precisely.</summary>
    public long CreatedAt { get; }

    public NodeAvailability RemoteAvailability => (NodeAvailability)Volatile.Read(ref _remoteAvailability);

    /// <summary>Last measured round trip, or null before the first Pong.</summary>
    public TimeSpan? RoundTrip { get; private set; }

    /// <summary>Why the session ended; <see cref="ProtocolError.None"/> while it runs.</summary>
    public ProtocolError CloseReason
    {
        get
        {
            lock (_endLock)
            {
                return _closeReason;
            }
        }
    }

    public string? CloseMessage
    {
        get
        {
            lock (_endLock)
            {
                return _closeMessage;
            }
        }
    }

    /// <summary>Completes when the session has ended, whoever ended it.</summary>
    public Task Closed => _closed.Task;

    /// <summary>True once a close has started (locally or by the remote) or the session has ended.</summary>
    public bool IsClosing => Volatile.Read(ref _closing) != 0 || Volatile.Read(ref _ending) != 0;

    /// <summary>
    /// Called once when the session ends, before its socket closes, so the owner can forget it before the remote
    /// sees the connection go (a reconnect right after a goodbye then finds no stale entry).
    /// </summary>
    public Action<Session>? Ending { get; set; }

    /// <summary>The read loop. Returns when the session ends; never throws for anything the remote does.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        (ProtocolError Code, string Message)? goodbye = null;
        try
        {
            while (true)
            {
                var message = await Connection.ReceiveAsync(ProtocolLimits.MaxPayload, _refuseCode, cancellationToken).ConfigureAwait(false);
                if (message is null)
                {
                    Ended(ProtocolError.ConnectionLost, $"{Describe()} closed the connection");
                    break;
                }

                if (!await DispatchAsync(message, cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (ProtocolException ex)
        {
            goodbye = (ex.Code, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            goodbye = (ProtocolError.Shutdown, "cancelled");
        }
        catch (P2PException ex)
        {
            Ended(ex.Code, ex.Message);
        }
        finally
        {
            // The loop is over: from here a close does not wait for it.
            Volatile.Write(ref _ending, 1);
            if (goodbye is { } last)
            {
                Ended(last.Code, last.Message);
            }

            Ended(ProtocolError.ConnectionLost, "connection closed");
            Ending?.Invoke(this);

            // The loop owns the reader, so it finishes every close, whoever started it: flush what is queued (a
            // goodbye included), half-close, read until the remote lets go, release.
            if (goodbye is { } reason)
            {
                _ = CloseAsync(reason.Code, reason.Message);
            }

            await Connection.CloseAsync(null).ConfigureAwait(false);
            await Volatile.Read(ref _closeTask).ConfigureAwait(false);
            FailPendingPings();
            _closed.TrySetResult();
        }
    }

    /// <summary>
    /// Says goodbye with the reason and closes once the remote has read it: Error for protocol violations (codes
    /// 100-199), Bye otherwise. Safe to call from any thread, more than once; the read loop finishes the close.
    /// </summary>
    public Task CloseAsync(ProtocolError reason, string message)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return Volatile.Read(ref _closeTask);
        }

        Ended(reason, message);
        IMessage last = reason is >= ProtocolError.MalformedFrame and < ProtocolError.SelfLink
            ? ErrorMessage.Create(reason, message)
            : Bye.Create(reason, message);
        var close = CloseCoreAsync(last);
        Volatile.Write(ref _closeTask, close);
        return close;
    }

    private async Task CloseCoreAsync(IMessage last)
    {
        await Connection.RequestCloseAsync(last).ConfigureAwait(false);
        await Connection.WhenClosedAsync().ConfigureAwait(false);
    }

    /// <summary>Measures one round trip with a Ping.</summary>
    public async Task<TimeSpan> MeasureRoundTripAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ulong nonce = (ulong)Interlocked.Increment(ref _nextNonce);
        var reply = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pings[nonce] = (Stopwatch.GetTimestamp(), reply);
        try
        {
            await Connection.SendAsync(new Ping(nonce), cancellationToken).ConfigureAwait(false);
            return await reply.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new P2PException(ProtocolError.Timeout, $"{Describe()} did not answer a ping within {timeout.TotalSeconds:0.#} s");
        }
        finally
        {
            _pings.TryRemove(nonce, out _);
        }
    }

    /// <summary>
    /// Keep-alive, called on a fixed tick: pings a quiet connection, and closes one whose ping stays unanswered,
    /// as <paramref name="liveness"/> judges (<see cref="ConnectionLiveness.KeepAlive"/>).
    /// </summary>
    public void KeepAlive(ConnectionLiveness liveness)
    {
        long now = Environment.TickCount64;
        var activity = Connection.Activity;
        switch (liveness.KeepAlive(now, activity, Interlocked.Read(ref _keepAliveSentAt)))
        {
            case KeepAliveStep.Close:
                // Error(108) is sent in case the remote still reads (a slow sender); the close is bounded either way.
                _ = CloseAsync(ProtocolError.KeepAliveTimeout, $"{Describe()} sent no whole frame for {(now - activity.LastReceived) / 1000.0:0.#} s and did not answer a ping");
                return;
            case KeepAliveStep.Ping:
                // One keep-alive ping is tracked at a time: a remote that never answers cannot make the table grow.
                _pings.TryRemove(_keepAliveNonce, out _);
                ulong nonce = (ulong)Interlocked.Increment(ref _nextNonce);
                _keepAliveNonce = nonce;
                Interlocked.Exchange(ref _keepAliveSentAt, now);
                _pings.TryAdd(nonce, (Stopwatch.GetTimestamp(), new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously)));
                if (!Connection.TrySend(new Ping(nonce)))
                {
                    _pings.TryRemove(nonce, out _);
                }

                return;
        }
    }

    /// <summary>Sends a message, or closes the session when its send queue stays full (the remote is not reading).</summary>
    protected bool SendOrClose(IMessage message)
    {
        if (Connection.TrySend(message))
        {
            return true;
        }

        _ = CloseAsync(ProtocolError.SendQueueFull, $"send queue to {Describe()} is full: it does not read what it is sent");
        return false;
    }

    /// <summary>
    /// Handles a request of this session's role; return false to end the session. A role takes only the frames it
    /// declares (a peer link: Query and QueryHit; a server's client session: Search, SearchCancel, a directly delivered
    /// QueryHit and the transfer requests; a client's session with its server: the answers to them); anything else
    /// that reaches this default breaks the protocol.
    /// </summary>
    protected virtual ValueTask<bool> HandleRequestAsync(IMessage message, CancellationToken cancellationToken) =>
        throw new ProtocolException(ProtocolError.UnexpectedMessage, $"{message.Code} is not a request this connection takes in protocol v{ProtocolLimits.Version}");

    /// <summary>
    /// Whether this session's role takes frames of this code besides Ping, Pong, Status, Bye and Error (which every
    /// connection takes after the handshake). Judged from the frame's header, before its payload is read.
    /// </summary>
    protected virtual bool TakesRequest(MessageCode code) => false;

    /// <summary>Called when the remote announces an availability different from the last one.</summary>
    protected virtual void OnRemoteStatus(NodeAvailability availability)
    {
    }

    protected string Describe() => RemoteName.Length > 0 ? $"node {RemoteName} ({RemoteEndpoint})" : RemoteEndpoint;

    private ProtocolException? RefuseCode(MessageCode code) => code switch
    {
        MessageCode.Ping or MessageCode.Pong or MessageCode.Status or MessageCode.Bye or MessageCode.Error => null,
        MessageCode.Hello or MessageCode.Welcome => new ProtocolException(ProtocolError.UnexpectedMessage, $"{code} is only valid as the first frame of a connection"),
        _ when TakesRequest(code) => null,
        _ => new ProtocolException(ProtocolError.UnexpectedMessage, $"{code} is not a message this connection takes in protocol v{ProtocolLimits.Version}"),
    };

    private async ValueTask<bool> DispatchAsync(IMessage message, CancellationToken cancellationToken)
    {
        switch (message)
        {
            case Ping ping:
                return SendOrClose(new Pong(ping.Nonce));
            case Pong pong:
                if (_pings.TryRemove(pong.Nonce, out var pending))
                {
                    var roundTrip = Stopwatch.GetElapsedTime(pending.SentAt);
                    RoundTrip = roundTrip;
                    pending.Reply.TrySetResult(roundTrip);
                }

                return true;
            case Status status:
                if (Interlocked.Exchange(ref _remoteAvailability, (int)status.Availability) != (int)status.Availability)
                {
                    OnRemoteStatus(status.Availability);
                }

                return true;
            case Bye bye:
                Ended(bye.Reason, bye.Message.Length > 0 ? bye.Message : $"{Describe()} said goodbye ({bye.Reason})");
                return false;
            case ErrorMessage error when (ushort)error.Error >= 100:
                Ended(error.Error, error.Message);
                return false;
            case ErrorMessage:
                // Below 100: v1 sends none (an Error names no request, so it cannot refuse one) and ignores one.
                return true;
            case Hello or Welcome:
                throw new ProtocolException(ProtocolError.UnexpectedMessage, $"{message.Code} is only valid as the first frame of a connection");
            default:
                return await HandleRequestAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Ended(ProtocolError reason, string message)
    {
        lock (_endLock)
        {
            if (_closeReason == ProtocolError.None)
            {
                _closeReason = reason;
                _closeMessage = message;
            }
        }
    }

    private void FailPendingPings()
    {
        foreach (var nonce in _pings.Keys)
        {
            if (_pings.TryRemove(nonce, out var pending))
            {
                pending.Reply.TrySetException(new P2PException(CloseReason, CloseMessage ?? "connection closed"));
            }
        }
    }
}
