using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

namespace P2PTransfer.Client;

/// <summary>
/// A pure client's connection to one node's server (no local node needed). It knows when the server is
/// scheduled for closing and then refuses to send new requests with a clear error.
/// </summary>
public sealed class NodeClient : IAsyncDisposable
{
    private readonly ServerSession _session;
    private readonly CancellationTokenSource _stop = new();
    private static readonly TimeSpan SearchGrace = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<uint, RemoteSearch> _searches = new();
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<IMessage>> _transfers = new();
    private long _lastTransferAnswer = Environment.TickCount64;
    // Below the server's limit: requests this side gave up on may still be under way there.
    private readonly SemaphoreSlim _piecesInFlight = new(ProtocolLimits.MaxPiecesInFlight - 16);
    private int _lastTransferId;
    private readonly Task _run;
    private int _lastSearchId;

    private NodeClient(FrameConnection connection, Welcome welcome, string address)
    {
        _session = new ServerSession(connection, welcome.NodeId, welcome.Name, welcome.Endpoint.Length > 0 ? welcome.Endpoint : address, welcome.Availability, TakeAnswer);
        _run = RunThenFailSearchesAsync();
    }

    internal FrameConnection Connection => _session.Connection;

    /// <summary>Closing or closed: no new request can go out on it.</summary>
    internal bool IsClosing => _session.IsClosing;

    /// <summary>The server's node id, from its Welcome.</summary>
    public Guid RemoteId => _session.RemoteId;

    public string RemoteName => _session.RemoteName;

    /// <summary>'host:port' of the server: the endpoint it announced, else the address dialled.</summary>
    public string RemoteEndpoint => _session.RemoteEndpoint;

    /// <summary>The server's availability as it last announced it.</summary>
    public NodeAvailability RemoteAvailability => _session.RemoteAvailability;

    /// <summary>Last measured round trip; empty before the first.</summary>
    public TimeSpan? RoundTrip => _session.RoundTrip;

    /// <summary>Why the connection closed (None while it is open).</summary>
    public ProtocolError CloseReason => _session.CloseReason;

    public string? CloseMessage => _session.CloseMessage;

    /// <summary>Completes when the connection has closed.</summary>
    public Task Closed => _session.Closed;

    /// <summary>
    /// Connects over TCP and TLS, with this process's client key, and handshakes; fails with
    /// <see cref="NodeUnavailableException"/> when the server is closing or busy.
    /// </summary>
    public static Task<NodeClient> ConnectAsync(string address, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(TlsDialer.Client, address, timeout, cancellationToken);

    /// <summary>
    /// Connects to a node of the private network whose key is <paramref name="networkKey"/> (null: an open network),
    /// proving the key; fails with NotMember when the node does not prove it back.
    /// </summary>
    public static Task<NodeClient> ConnectAsync(string address, byte[]? networkKey, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(TlsDialer.ClientOf(networkKey), address, timeout, cancellationToken);

    /// <summary>Connects through <paramref name="dialer"/> (a <see cref="TlsDialer"/>) and handshakes; fails with <see cref="NodeUnavailableException"/> when the server is closing or busy.</summary>
    internal static async Task<NodeClient> ConnectAsync(TlsDialer dialer, string address, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var hello = Hello.Create(ConnectionRole.Client, dialer.Credentials.Id, string.Empty, string.Empty);
        var (connection, welcome) = await Handshake.DialAsync(dialer, address, ProtocolLimits.DefaultPort, hello, timeout ?? Handshake.DefaultTimeout, cancellationToken, TransferReadBuffer).ConfigureAwait(false);
        return new NodeClient(connection, welcome, address);
    }

    // Pieces arrive in 1 MiB frames: read them in large chunks, not 16 KiB at a time.
    private const int TransferReadBuffer = 256 * 1024;

    /// <summary>
    /// Milliseconds (Environment.TickCount64) when the last answer to one of this client's transfer requests arrived.
    /// Keep-alive frames do not count: a server that answers pings but sends no data is stalled all the same.
    /// </summary>
    internal long LastTransferAnswer => Interlocked.Read(ref _lastTransferAnswer);

    /// <summary>The piece hashes of a file the server shares (from <paramref name="firstPiece"/> on, one frame's worth), and its size.</summary>
    internal async Task<PieceList> GetPieceListAsync(byte[] hash, int firstPiece, CancellationToken cancellationToken)
    {
        var reply = await RequestAsync(id => new PieceListRequest(id, hash, (uint)firstPiece), cancellationToken).ConfigureAwait(false);
        return reply as PieceList ?? throw new ProtocolException(ProtocolError.UnexpectedMessage, $"{_session.Describe()} answered a piece list request with {reply.Code}");
    }

    /// <summary>
    /// One piece of a file the server shares. At most <see cref="ProtocolLimits.MaxPiecesInFlight"/> pieces are requested
    /// from one server at a time; callers may start many and await them in order (the server answers in order).
    /// The caller owns the returned data and must release it.
    /// </summary>
    internal async Task<PieceData> GetPieceAsync(byte[] hash, int piece, CancellationToken cancellationToken)
    {
        await _piecesInFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var reply = await RequestAsync(id => new PieceRequest(id, hash, (uint)piece), cancellationToken).ConfigureAwait(false);
            if (reply is not PieceData data)
            {
                throw new ProtocolException(ProtocolError.UnexpectedMessage, $"{_session.Describe()} answered a piece request with {reply.Code}");
            }

            if (data.Piece != (uint)piece)
            {
                data.Release();
                throw new ProtocolException(ProtocolError.MalformedFrame, $"{_session.Describe()} sent piece {data.Piece} for a request of piece {piece}");
            }

            return data;
        }
        finally
        {
            _piecesInFlight.Release();
        }
    }

    private async Task<IMessage> RequestAsync(Func<uint, IMessage> make, CancellationToken cancellationToken)
    {
        EnsureAvailable();
        uint id = (uint)Interlocked.Increment(ref _lastTransferId);
        var reply = new TaskCompletionSource<IMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _transfers[id] = reply;
        bool delivered = false;
        try
        {
            await _session.Connection.SendAsync(make(id), cancellationToken).ConfigureAwait(false);
            if (_session.Closed.IsCompleted)
            {
                FailTransfers();
            }

            var message = await reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            delivered = true;
            return message is TransferRefused refused
                ? throw (refused.Reason is ProtocolError.NodeBusy or ProtocolError.NodeClosing
                    ? new NodeUnavailableException(refused.Reason, refused.Message)
                    : new P2PException(refused.Reason, refused.Message))
                : message;
        }
        finally
        {
            if (_transfers.TryRemove(id, out var abandoned) && !delivered && abandoned.Task.IsCompletedSuccessfully && abandoned.Task.Result is PieceData late)
            {
                // Cancelled after the piece arrived: nobody will use it.
                late.Release();
            }
        }
    }

    private void FailTransfers()
    {
        foreach (var id in _transfers.Keys)
        {
            if (_transfers.TryGetValue(id, out var pending))
            {
                pending.TrySetException(Gone());
            }
        }
    }

    private P2PException Gone() =>
        _session.RemoteAvailability == NodeAvailability.Closing || _session.CloseReason is ProtocolError.Shutdown
            ? new NodeUnavailableException(ProtocolError.NodeClosing, $"node {_session.RemoteName} ({_session.RemoteEndpoint}) is shutting down")
            : new P2PException(_session.CloseReason == ProtocolError.None ? ProtocolError.ConnectionLost : _session.CloseReason, _session.CloseMessage ?? $"connection to {_session.RemoteEndpoint} is closed");

    /// <summary>One round trip to the server. Throws when the server is shutting down or the connection is gone.</summary>
    public async Task<TimeSpan> PingAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        EnsureAvailable();
        try
        {
            return await _session.MeasureRoundTripAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (P2PException ex) when (ex.Code is ProtocolError.Shutdown or ProtocolError.NodeClosing
            || _session.RemoteAvailability == NodeAvailability.Closing || _session.CloseReason is ProtocolError.Shutdown)
        {
            // The goodbye overtook the answer: say what the user needs to know, not how the socket ended.
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {_session.RemoteName} ({_session.RemoteEndpoint}) is shutting down");
        }
    }

    /// <summary>
    /// Searches the network with the server this client talks to as the entry server (the original client's
    /// 'connect', then search): results stream as servers answer, until the server ends the search (its timeout,
    /// enough results) or the caller stops reading, which cancels it on the server.
    /// </summary>
    public async IAsyncEnumerable<P2PSearchResult> SearchAsync(FileQuery query, SearchOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new SearchOptions();
        QueryWire.EnsureSendable(query);
        EnsureAvailable();
        uint id = (uint)Interlocked.Increment(ref _lastSearchId);
        var search = new RemoteSearch();
        _searches[id] = search;
        var timeout = options.ClampedTimeout;
        bool ended = false;
        int count = 0;
        try
        {
            var request = new SearchRequest(id, (byte)options.ClampedTtl, (uint)timeout.TotalMilliseconds, (uint)Math.Max(1, options.MaxResults), query);
            await _session.Connection.SendAsync(request, cancellationToken).ConfigureAwait(false);
            options.Trace?.Invoke($"search sent to {_session.Describe()}, TTL {options.ClampedTtl}, timeout {timeout.TotalSeconds:0.###} s");

            // The server ends the search at its timeout; a server that has not ended it once this client has waited
            // that long (plus a grace), and then stays silent for the grace, is given up on. Only time spent
            // waiting counts: a slow reader downstream never turns into a timeout.
            var waitBudget = timeout + SearchGrace;
            var waited = new System.Diagnostics.Stopwatch();
            while (true)
            {
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    // Once the budget is spent, a server still sending gets the grace again for each frame.
                    var left = waitBudget - waited.Elapsed;
                    quiet.CancelAfter(left > SearchGrace ? left : SearchGrace);
                    waited.Start();
                    bool more = await WaitForResultsAsync(search, quiet.Token, cancellationToken).ConfigureAwait(false);
                    waited.Stop();
                    if (!more)
                    {
                        break;
                    }
                }

                while (search.Results.TryRead(out var batch))
                {
                    options.Trace?.Invoke(batch.Describe());
                    foreach (var result in batch.Results())
                    {
                        yield return result;
                        if (++count >= options.MaxResults)
                        {
                            yield break;
                        }
                    }
                }
            }

            ended = true;
            if (search.Done is { } done)
            {
                var why = SearchEndStatus.ReasonOf(done.Status)?.ToString() ?? $"status {(ushort)done.Status}";
                options.Trace?.Invoke($"search ended ({why}): {done.Results} result(s) from {done.Sources} source(s)");
            }

            if (search.Dropped > 0)
            {
                options.Trace?.Invoke($"{search.Dropped} result(s) were dropped because they were not read in time");
            }
        }
        finally
        {
            _searches.TryRemove(id, out _);
            if (!ended && !_session.IsClosing)
            {
                _session.Connection.TrySend(new SearchCancel(id));
            }
        }
    }

    private async Task<bool> WaitForResultsAsync(RemoteSearch search, CancellationToken deadline, CancellationToken cancellationToken)
    {
        // What has arrived is read whatever the deadline says.
        if (search.Results.HasBuffered)
        {
            return true;
        }

        if (search.Results.Completion.IsCompleted)
        {
            await search.Results.Completion.ConfigureAwait(false);
            return false;
        }

        try
        {
            return await search.Results.WaitToReadAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new P2PException(ProtocolError.Timeout, $"{_session.Describe()} did not end the search in time");
        }
    }

    // The answers a client receives; anything else goes to the session's default (a protocol violation).
    private bool TakeAnswer(IMessage message)
    {
        switch (message)
        {
            case SearchResults results:
                if (_searches.TryGetValue(results.SearchId, out var open))
                {
                    open.Add(results);
                }

                return true;
            case PieceList or PieceData or TransferRefused:
                uint id = message switch { PieceList l => l.RequestId, PieceData d => d.RequestId, _ => ((TransferRefused)message).RequestId };
                if (!_transfers.TryGetValue(id, out var waiting) || !waiting.TrySetResult(message))
                {
                    (message as PieceData)?.Release();
                }
                else
                {
                    Interlocked.Exchange(ref _lastTransferAnswer, Environment.TickCount64);
                }

                return true;
            case SearchDone done:
                if (_searches.TryGetValue(done.SearchId, out var finished))
                {
                    finished.Finish(done);
                }

                return true;
            default:
                return false;
        }
    }

    private async Task RunThenFailSearchesAsync()
    {
        await _session.RunAsync(_stop.Token).ConfigureAwait(false);
        foreach (var search in _searches.Values)
        {
            search.Fail(Gone());
        }

        FailTransfers();
    }

    /// <summary>Throws the error a user should see if the server can take no new request.</summary>
    internal void EnsureAvailable()
    {
        if (_session.RemoteAvailability == NodeAvailability.Closing || _session.CloseReason is ProtocolError.Shutdown or ProtocolError.NodeClosing)
        {
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {_session.RemoteName} ({_session.RemoteEndpoint}) is shutting down");
        }

        if (_session.Closed.IsCompleted || _session.CloseReason != ProtocolError.None)
        {
            throw new P2PException(_session.CloseReason == ProtocolError.None ? ProtocolError.ConnectionLost : _session.CloseReason, _session.CloseMessage ?? $"connection to {_session.RemoteEndpoint} is closed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _session.CloseAsync(ProtocolError.None, "client done").ConfigureAwait(false);
        _stop.Cancel();
        await _run.ConfigureAwait(false);
        _stop.Dispose();
    }
}
