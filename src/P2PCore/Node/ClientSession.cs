using System.Diagnostics;
using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Transfer;

namespace P2PTransfer.Node;

/// <summary>
/// The server side of a client's connection: pings, network searches this node enters for the client (whose
/// results it streams back as they arrive), and uploads of shared files to downloaders. Also how responses
/// delivered directly by other servers arrive.
/// </summary>
internal sealed class ClientSession(ServingNode node, FrameConnection connection, Hello hello)
    : Session(connection, hello.NodeId, hello.Name, hello.Endpoint.Length > 0 ? hello.Endpoint : connection.RemoteEndPoint, NodeAvailability.Available)
{
    private readonly ClientSearches _searches = new();
    private readonly RateLimit _directRate = new(SearchLimits.DirectResponsesPerSecond, SearchLimits.DirectResponsesPerSecond * 2);
    private readonly RateLimit _searchRate = new(SearchLimits.SearchesPerClientPerSecond, SearchLimits.SearchesPerClientPerSecond * 2);
    private Upload? _upload;
    private long _lastRequestAt = Stopwatch.GetTimestamp();

    /// <summary>Ends the client's searches and its upload when its connection has gone.</summary>
    internal void EndWork()
    {
        foreach (var search in _searches.Open())
        {
            search.Cancel();
        }

        _upload?.Dispose();
    }

    /// <summary>
    /// On the node's keep-alive tick: an upload with nothing under way gives its slot back; a downloader that has
    /// taken no piece for the slow-reader grace while pieces wait for it is closed (it asks but does not read;
    /// <see cref="ConnectionLiveness.HasStoppedReadingLargeFrames"/>).
    /// </summary>
    internal void Tick()
    {
        if (_upload is not { } upload)
        {
            return;
        }

        if (upload.IsStuck(node.Liveness))
        {
            _ = CloseAsync(ProtocolError.SendQueueFull, $"{Describe()} does not read the pieces it asked for");
            return;
        }

        upload.ReleaseIfIdle();
    }

    /// <summary>
    /// Since when the client has had nothing under way (no search open, no piece on its way to it, no request since):
    /// the later of its last request and the start of its connection (a <see cref="Stopwatch"/> timestamp, fine enough
    /// to order clients that connected one right after another); null while busy.
    /// Pings are not requests: a client that only answers them is idle.
    /// </summary>
    internal long? IdleSince() =>
        _searches.OpenCount > 0 || _upload?.HasPiecesInFlight == true ? null : Volatile.Read(ref _lastRequestAt);

    protected override bool TakesRequest(MessageCode code) => code is MessageCode.Search or MessageCode.SearchCancel or MessageCode.QueryHit or MessageCode.PieceListRequest or MessageCode.PieceRequest;

    protected override async ValueTask<bool> HandleRequestAsync(IMessage message, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _lastRequestAt, Stopwatch.GetTimestamp());
        if (message is SearchRequest or PieceListRequest or PieceRequest && !await RoomForAnswerAsync().ConfigureAwait(false))
        {
            return false;
        }

        switch (message)
        {
            case SearchRequest request:
                StartSearch(request);
                return true;
            case SearchCancel cancel:
                _searches.Find(cancel.SearchId)?.Cancel();

                return true;
            case QueryHit hit:
                if (_directRate.TryTake())
                {
                    node.Search.OnDirectHit(RemoteId, hit);
                }
                else
                {
                    node.Search.Counters.ResponseRefused();
                }

                return true;
            case PieceListRequest or PieceRequest:
                if (IsClosing)
                {
                    return true;
                }

                (_upload ??= new Upload(node.Uploads, Connection, Describe())).Handle(message);
                return true;
            default:
                return await base.HandleRequestAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A request answered at once (a Search's refusal, a PieceList, a PieceData, a TransferRefused) is taken only
    /// when the client's send queue has room, as for search frames: until then this read loop reads nothing more.
    /// So a client that pipelines many requests and reads gets every answer, and a queue never overflows with them;
    /// one that does not read is closed with SendQueueFull. False when the connection is closed or closing.
    /// </summary>
    private async ValueTask<bool> RoomForAnswerAsync()
    {
        if (Connection.QueuedFrames < ProtocolLimits.SendQueueCapacity - SearchLimits.SendQueueHeadroom)
        {
            return true;
        }

        try
        {
            await SendWithinAsync(null).ConfigureAwait(false);
            return !IsClosing;
        }
        catch (Exception ex) when (ex is P2PException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            return false;
        }
    }

    private void StartSearch(SearchRequest request)
    {
        if (_searches.IsInUse(request.SearchId))
        {
            Refuse(request.SearchId, ProtocolError.InvalidQuery, $"search id {request.SearchId} is already in use on this connection");
            return;
        }

        if (!_searchRate.TryTake())
        {
            Refuse(request.SearchId, ProtocolError.TooManySearches, $"a client may start {SearchLimits.SearchesPerClientPerSecond} searches a second on node {node.Name}");
            return;
        }

        if (_searches.OpenCount >= SearchLimits.MaxSearchesPerClient)
        {
            Refuse(request.SearchId, ProtocolError.TooManySearches, $"a client may have {SearchLimits.MaxSearchesPerClient} searches open at once on node {node.Name}");
            return;
        }

        var options = new SearchOptions
        {
            Ttl = request.Ttl,
            Timeout = TimeSpan.FromMilliseconds(request.TimeoutMilliseconds),
            MaxResults = (int)Math.Min(request.MaxResults, int.MaxValue),
        };
        NetworkSearch search;
        try
        {
            search = node.Search.BeginForClient(request.Query, options, SourceAddress.Of(Connection.RemoteEndPoint).Address);
        }
        catch (ArgumentException ex)
        {
            Refuse(request.SearchId, ProtocolError.InvalidQuery, ex.Message);
            return;
        }
        catch (P2PException ex)
        {
            Refuse(request.SearchId, ex.Code, ex.Message);
            return;
        }

        var streamed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _searches.Add(request.SearchId, search, streamed.Task);
        node.Tasks.Run($"search {request.SearchId} for {RemoteEndpoint}", async () =>
        {
            try
            {
                await StreamAsync(request.SearchId, search).ConfigureAwait(false);
            }
            finally
            {
                _searches.Remove(search);
                streamed.TrySetResult();
            }
        });
    }

    /// <summary>
    /// The node is stopping: every search still open ends (NodeClosing, unless it ended already), and its last
    /// results and its SearchDone are queued before the goodbye, so the client reads why each search ended
    /// before it reads Bye(Shutdown). A client that takes no frame for the keep-alive dead-after time is closed
    /// with SendQueueFull by the stream itself; <paramref name="within"/> bounds the wait for one that reads slowly.
    /// </summary>
    internal async Task CloseForShutdownAsync(string goodbye, TimeSpan within)
    {
        foreach (var search in _searches.Open())
        {
            search.End(SearchEndReason.NodeClosing);
        }

        try
        {
            await _searches.AllStreamed().WaitAsync(within).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Still sending to a slow reader: the goodbye goes now, and the rest of its results with the connection.
        }

        await CloseAsync(ProtocolError.Shutdown, goodbye).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the results as they arrive, then SearchDone. A client that does not take a frame within the keep-alive
    /// time (it writes but does not read) is closed with SendQueueFull: a stuck reader cannot hold the search.
    /// </summary>
    private async Task StreamAsync(uint searchId, NetworkSearch search)
    {
        try
        {
            await foreach (var batch in search.ReadAllAsync().ConfigureAwait(false))
            {
                if (IsClosing)
                {
                    search.Cancel();
                    break;
                }

                var route = batch.Route ?? BacktraceStack.Start(new RouteHop(node.Id, node.Endpoint));
                await SendWithinAsync(new SearchResults(searchId, batch.Source, (byte)batch.Hops, batch.Direct, route, batch.Files)).ConfigureAwait(false);
            }

            var reason = search.EndReason ?? SearchEndReason.Cancelled;
            var status = SearchEndStatus.Of(reason);

            // The id is free again before the client can read that the search is over.
            _searches.ReleaseId(search);
            await SendWithinAsync(SearchDone.Create(searchId, status, (uint)search.Results, (uint)search.Sources, reason.ToString())).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is P2PException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The client went away or does not read; the search ends with it.
            search.Cancel();
        }
        finally
        {
            _searches.ReleaseId(search);
        }
    }

    /// <summary>
    /// Queues a frame (with null, only waits), waiting while the client's queue has fewer than <see cref="SearchLimits.SendQueueHeadroom"/>
    /// free places. A slow link is fine as long as frames keep leaving; a client whose connection has taken nothing
    /// for the keep-alive dead-after time (it writes but does not read) is closed with SendQueueFull.
    /// </summary>
    private async Task SendWithinAsync(IMessage? message)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                // Search frames leave the last places of the queue to control replies: a Pong to a slow client
                // that is still reading must fit, or the node would close it with SendQueueFull (section 8).
                await Connection.WaitForRoomAsync(ProtocolLimits.SendQueueCapacity - SearchLimits.SendQueueHeadroom, wait.Token).ConfigureAwait(false);
                if (message is not null)
                {
                    await Connection.SendAsync(message, wait.Token).ConfigureAwait(false);
                }

                return;
            }
            catch (OperationCanceledException) when (node.Liveness.HasStoppedReading(Environment.TickCount64, Connection.LastSent) || IsClosing || attempt > 3600)
            {
                _ = CloseAsync(ProtocolError.SendQueueFull, $"{Describe()} does not read its search results");
                throw;
            }
            catch (OperationCanceledException)
            {
                // Frames are still leaving: a slow link, not a stuck reader. Wait on.
            }
        }
    }

    private void Refuse(uint searchId, ProtocolError status, string message)
    {
        node.Search.Counters.SearchRefused();
        SendOrClose(SearchDone.Create(searchId, status, 0, 0, message));
    }
}
