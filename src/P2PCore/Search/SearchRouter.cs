using System.Collections.Concurrent;
using System.Threading.Channels;
using P2PTransfer.Common;
using P2PTransfer.Node;
using P2PTransfer.Peers;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>
/// A node's part in network search (the seed design): requests are queued for the cascade workers, which check
/// the request cache, forward each request to every linked server but the one it came from, and answer it from
/// the node's own index; responses travel back along the request's backtrace stack, each server popping itself;
/// when the way back is broken, the response goes straight to the entry server, which gathers everything for
/// its client.
/// </summary>
public sealed class SearchRouter
{
    private readonly P2PNode _node;
    private readonly Channel<CascadeItem> _queue;
    private readonly Channel<CascadeItem> _ownQueue = Channel.CreateBounded<CascadeItem>(new BoundedChannelOptions(256) { SingleReader = true });
    private readonly ConcurrentDictionary<Guid, NetworkSearch> _searches = new();
    private readonly RequestCache _requests = new();
    private readonly ResponseCache _responses = new();
    private readonly DirectDelivery _direct;
    private readonly RouteHop _self;
    private readonly SourceNode _selfSource;
    private readonly int _workers;

    internal SearchRouter(P2PNode node, NodeOptions options)
    {
        _node = node;
        _self = new RouteHop(node.Id, node.Endpoint);
        _selfSource = new SourceNode(node.Id, node.Name, node.Endpoint);
        _workers = Math.Max(1, options.SearchWorkers);
        _queue = Channel.CreateBounded<CascadeItem>(new BoundedChannelOptions(Math.Max(1, options.SearchQueueCapacity))
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
        _direct = new DirectDelivery(
            new Hello(ProtocolLimits.Version, ConnectionRole.Client, node.Id, node.Endpoint, node.Name), node.Log, Counters);
        RecentWindow = options.DeadAfter + TimeSpan.FromSeconds(4);
    }

    public SearchCounters Counters { get; } = new();

    /// <summary>Searches this node is gathering right now as their entry server.</summary>
    public int ActiveSearches => _searches.Count;

    /// <summary>How long a link remembers the responses it was handed, for re-delivery if it breaks.</summary>
    internal TimeSpan RecentWindow { get; }

    /// <summary>Starts the cascade workers and direct delivery; they stop with the node.</summary>
    internal void Start(BackgroundTasks tasks, CancellationToken stopping)
    {
        for (int i = 0; i < _workers; i++)
        {
            tasks.Run("cascade worker", () => CascadeLoopAsync(_queue.Reader, stopping));
        }

        // This node's own searches have a worker of their own: a peer's slow requests cannot hold them up.
        tasks.Run("cascade worker for own searches", () => CascadeLoopAsync(_ownQueue.Reader, stopping));

        tasks.Run("direct delivery", () => _direct.RunAsync(stopping));
    }

    /// <summary>
    /// Enters a search at this node: it is queued like any request, answered from this node's index and cascaded
    /// to every linked server within <see cref="SearchOptions.Ttl"/>. Throws <see cref="ArgumentException"/> for
    /// an invalid query and <see cref="NodeUnavailableException"/> when the node is closing or overloaded.
    /// </summary>
    public NetworkSearch Begin(FileQuery query, SearchOptions options) => Begin(query, options, forClient: false);

    /// <summary>
    /// Enters a search for a remote client: it waits with the peers' requests (not in the queue of the node's own
    /// searches) and its pattern gets the budget of a remote request, so clients cannot hold up the local user.
    /// </summary>
    internal NetworkSearch BeginForClient(FileQuery query, SearchOptions options) => Begin(query, options, forClient: true);

    private NetworkSearch Begin(FileQuery query, SearchOptions options, bool forClient)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        // Compiled once: the same compiled query answers from this node's index. Clients get a peer's pattern budget.
        var compiled = QueryWire.EnsureSendable(query, forClient ? SearchLimits.RemoteRegexBudget : null);
        if (!_node.Work.TryBegin(out var lease))
        {
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {_node.Name} ({_node.Endpoint}) is shutting down");
        }

        var search = new NetworkSearch(Guid.NewGuid(), query, options, lease, Counters, s => _searches.TryRemove(s.RequestId, out _));
        if (search.EndReason is not null)
        {
            // The drain cut-off came between the lease and its registration.
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {_node.Name} ({_node.Endpoint}) is shutting down");
        }

        _searches[search.RequestId] = search;
        search.Trace($"search {search.RequestId.ToString()[..8]} entered at {_node.Name} ({_node.Endpoint}), TTL {search.Ttl}, timeout {options.ClampedTimeout.TotalSeconds:0.###} s");

        // The clock starts before a worker can see the search: once queued, it may end at any moment.
        search.StartTimer();
        if (search.EndReason is not null)
        {
            // No time to gather anything: nothing is sent.
            return search;
        }

        var item = new CascadeItem(search.RequestId, search.Ttl, (uint)search.MaxResults, null, query, compiled, Guid.Empty, search);
        if (!(forClient ? _queue : _ownQueue).Writer.TryWrite(item))
        {
            search.End(SearchEndReason.Cancelled);
            throw new NodeUnavailableException(ProtocolError.NodeBusy, $"node {_node.Name} ({_node.Endpoint}) is busy: its search queue is full");
        }

        Counters.SearchStarted();
        return search;
    }

    /// <summary>A Query frame from a linked server. Never throws for anything the peer sent: bad requests are dropped and counted.</summary>
    internal void OnQuery(PeerLink from, Query query)
    {
        Counters.RequestReceived();
        if (!from.QueryRate.TryTake())
        {
            Counters.RequestRateLimited();
            return;
        }

        var backtrace = query.Backtrace;
        string? refusal =
            _node.Status != NodeStatus.Running ? "this node is closing"
            : backtrace.Top.NodeId != from.RemoteId ? $"its backtrace stack does not end with the sender ({from.RemoteName})"
            : !backtrace.HasDistinctServers() ? "its backtrace stack names a server twice"
            : backtrace.Contains(_node.Id) ? "its backtrace stack names this node already: a loop or a forgery"
            : backtrace.Count > SearchLimits.MaxTtl ? $"it travelled {backtrace.Count} links; the most is {SearchLimits.MaxTtl}"
            : null;
        CompiledQuery? compiled = null;
        if (refusal is null)
        {
            try
            {
                compiled = query.Search.Compile(SearchLimits.RemoteRegexBudget);
            }
            catch (ArgumentException ex)
            {
                refusal = ex.Message;
            }
        }

        if (refusal is not null)
        {
            Counters.RequestRefused();
            _node.Log.Write(NodeLogLevel.Verbose, $"dropped request {query.RequestId.ToString()[..8]} from {from.RemoteName}: {refusal}");
            return;
        }

        // Cap what we accept, not just what we send: hops travelled plus hops left never exceed the maximum.
        int ttl = Math.Min((int)query.Ttl, SearchLimits.MaxTtl - backtrace.Count);
        if (ttl < query.Ttl)
        {
            Counters.RequestClamped();
        }

        // maxResults 0 counts as 1, as in a Search: the entry server never sends 0.
        var item = new CascadeItem(query.RequestId, ttl, Math.Clamp(query.MaxResults, 1u, SearchLimits.MaxHitsPerSource), backtrace, query.Search, compiled!, from.RemoteId, null);
        if (!_queue.Writer.TryWrite(item))
        {
            Counters.RequestQueueFull();
        }
    }

    /// <summary>A QueryHit from a linked server: a response travelling back to its entry server.</summary>
    internal void OnQueryHit(PeerLink from, QueryHit hit)
    {
        Counters.ResponseReceived();
        int remaining = hit.Remaining;
        var expectedSender = remaining < hit.Backtrace.Count ? hit.Backtrace[remaining].NodeId : hit.Source.NodeId;
        if (hit.Receiver.NodeId != _node.Id || from.RemoteId != expectedSender || !hit.Backtrace.HasDistinctServers()
            || hit.Backtrace.Count > SearchLimits.MaxTtl || hit.Files.Count == 0)
        {
            Counters.ResponseRefused();
            return;
        }

        if (_requests.EntryOf(hit.RequestId) is not { } entry)
        {
            Counters.UnknownResponse();
            return;
        }

        // The entry server is the one the request named when it came here: a response cannot redirect it.
        if (entry != hit.Backtrace.Entry)
        {
            Counters.ResponseRefused();
            return;
        }

        if (!_responses.TryAdd(hit.RequestId, hit.Source.NodeId, hit.Batch))
        {
            Counters.DuplicateResponse();
            return;
        }

        if (remaining == 1)
        {
            Deliver(hit, direct: false);
            return;
        }

        Send(hit with { Remaining = (byte)(remaining - 1) }, from.RemoteId);
    }

    /// <summary>
    /// A QueryHit that came over a client connection: delivered directly to this node as the entry server, by a
    /// server of the response's route (one whose link broke) or by its source.
    /// </summary>
    internal void OnDirectHit(Guid dialer, QueryHit hit)
    {
        Counters.ResponseReceived();
        bool fromRoute = dialer != Guid.Empty && (hit.Source.NodeId == dialer || hit.Backtrace.Contains(dialer));
        if (hit.Remaining != 1 || hit.Backtrace.Entry.NodeId != _node.Id || !fromRoute || !hit.Backtrace.HasDistinctServers()
            || hit.Backtrace.Count > SearchLimits.MaxTtl || hit.Files.Count == 0)
        {
            Counters.ResponseRefused();
            return;
        }

        if (!_searches.ContainsKey(hit.RequestId))
        {
            Counters.UnknownResponse();
            return;
        }

        if (!_responses.TryAdd(hit.RequestId, hit.Source.NodeId, hit.Batch))
        {
            Counters.DuplicateResponse();
            return;
        }

        Deliver(hit, direct: true);
    }

    /// <summary>A link has gone: what it was handed lately may have died with it, so it goes straight to the entry servers.</summary>
    internal void OnLinkEnded(PeerLink link)
    {
        var recent = link.RecentResponses.TakeAll();
        foreach (var hit in recent)
        {
            _direct.TryQueue(hit);
        }

        if (recent.Count > 0)
        {
            _node.Log.Write(NodeLogLevel.Verbose, $"link to {link.RemoteName} broke with {recent.Count} recent response(s): delivering them directly");
        }
    }

    private async Task CascadeLoopAsync(ChannelReader<CascadeItem> queue, CancellationToken stopping)
    {
        try
        {
            await foreach (var item in queue.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    Handle(item);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    // One request that fails must not stop the worker: the others still need it.
                    _node.Log.Write(NodeLogLevel.Warning, $"request {item.RequestId.ToString()[..8]} failed: {ex.Message}");
                    item.Entry?.End(SearchEndReason.Cancelled);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private void Handle(CascadeItem item)
    {
        if (item.Entry is { EndReason: not null })
        {
            // Cancelled or timed out while queued: nobody would read its responses.
            return;
        }

        // Checked here, where requests are taken one at a time, so two copies arriving at once are still one.
        var admission = _requests.Admit(item.RequestId, item.Ttl, item.Received?.Entry ?? _self);
        if (admission == RequestAdmission.Duplicate)
        {
            Counters.DuplicateRequest();
            return;
        }

        if (admission == RequestAdmission.Widened)
        {
            Counters.RequestWidened();
        }

        int cascaded = Cascade(item);
        if (admission == RequestAdmission.New)
        {
            Process(item, cascaded);
        }
    }

    /// <summary>Forwards a request to every linked server but its sender, those already on its stack, and those closing.</summary>
    private int Cascade(CascadeItem item)
    {
        if (item.Ttl <= 0)
        {
            return 0;
        }

        var backtrace = item.Received?.Push(_self) ?? BacktraceStack.Start(_self);
        var forward = new Query(item.RequestId, (byte)(item.Ttl - 1), item.MaxResults, backtrace, item.Query);
        var sentTo = new List<string>();
        foreach (var link in _node.LinkedPeers())
        {
            if (link.RemoteId == item.From || item.Received?.Contains(link.RemoteId) == true || link.State != PeerState.Connected)
            {
                continue;
            }

            if (HasRoom(link) && link.Connection.TrySend(forward))
            {
                Counters.RequestCascaded();
                sentTo.Add(link.RemoteName);
            }
            else
            {
                // A peer that does not read its queries loses them, not its link: flow control, as Gnutella learned.
                Counters.SendQueueWasFull();
            }
        }

        item.Entry?.Trace(sentTo.Count == 0
            ? "no linked server to cascade to"
            : $"cascaded with TTL {item.Ttl - 1} to {sentTo.Count} server(s): {string.Join(", ", sentTo)}");
        return sentTo.Count;
    }

    /// <summary>Answers a request from this node's own index.</summary>
    private void Process(CascadeItem item, int cascaded)
    {
        // Answering is work a close waits for. An entry search that finds the node already closing is not cut
        // short (it holds a lease since it began): it only goes without this node's own files.
        if (!_node.Work.TryBegin(out var lease))
        {
            if (cascaded == 0 && item.Entry is { } unanswered)
            {
                unanswered.End(SearchEndReason.Complete);
            }

            return;
        }

        var cancellation = lease.Cancellation;
        Counters.RequestProcessed();
        try
        {
            int limit = (int)Math.Min(item.MaxResults, SearchLimits.MaxHitsPerSource);
            ushort batch = 0;
            foreach (var files in FindLocal(item.Compiled, limit, cancellation))
            {
                if (item.Entry is { } entry)
                {
                    entry.TryDeliver(new ResultBatch(_selfSource, 0, false, null, files));
                }
                else
                {
                    var hit = new QueryHit(item.RequestId, batch++, (byte)item.Received!.Count, item.Received, _selfSource, files);
                    _responses.TryAdd(item.RequestId, _node.Id, hit.Batch);
                    Send(hit, Guid.Empty);
                }
            }
        }
        catch (ArgumentException ex)
        {
            // A pattern over its time budget on this node's names: this node does not answer, the search goes on.
            // The user who entered the search here is told; a peer's request is only traced.
            var level = item.Entry is null ? NodeLogLevel.Verbose : NodeLogLevel.Warning;
            _node.Log.Write(level, $"search {item.RequestId.ToString()[..8]} got no answer from {_node.Name}'s own files: {ex.Message}");
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        finally
        {
            lease.Dispose();
        }

        // With nobody else asked, nothing more can come.
        if (cascaded == 0 && item.Entry is { } search)
        {
            search.End(SearchEndReason.Complete);
        }
    }

    /// <summary>This node's matching files, in frames of about <see cref="SearchLimits.HitBytesPerFrame"/> bytes.</summary>
    private IEnumerable<IReadOnlyList<FoundFile>> FindLocal(CompiledQuery query, int limit, CancellationToken cancellationToken)
    {
        var files = new List<FoundFile>();
        int bytes = 0;
        foreach (var shared in _node.Index.Search(query, limit, cancellationToken))
        {
            var found = new FoundFile(shared.Name, shared.Size, shared.Hash!, shared.RelativePath);
            if (!found.FitsProtocol)
            {
                continue;
            }

            files.Add(found);
            bytes += found.WireLength;
            if (bytes >= SearchLimits.HitBytesPerFrame || files.Count == ushort.MaxValue)
            {
                yield return files;
                files = [];
                bytes = 0;
            }
        }

        if (files.Count > 0)
        {
            yield return files;
        }
    }

    /// <summary>Hands a response to the server it is addressed to, or straight to the entry server when that link is gone.</summary>
    private void Send(QueryHit hit, Guid arrivedFrom)
    {
        var receiver = hit.Receiver;
        if (receiver.NodeId == arrivedFrom)
        {
            Counters.ResponseRefused();
            return;
        }

        if (_node.FindPeer(receiver.NodeId) is { IsClosing: false } link)
        {
            if (HasRoom(link) && link.Connection.TrySend(hit))
            {
                Counters.ResponseRouted();
                if (link.RecentResponses.TryAdd(hit))
                {
                    return;
                }

                // The link ended just now and its recent responses were already taken: this one goes directly too.
            }
            else
            {
                Counters.SendQueueWasFull();
            }

        }

        _node.Log.Write(NodeLogLevel.Verbose, $"no link to {receiver.Endpoint} for a response to request {hit.RequestId.ToString()[..8]}: delivering it directly to {hit.Backtrace.Entry.Endpoint}");
        _direct.TryQueue(hit);
    }

    /// <summary>Routed search traffic leaves room in a link's send queue, so its keep-alive and goodbye always fit.</summary>
    private static bool HasRoom(PeerLink link) =>
        link.Connection.QueuedFrames < ProtocolLimits.SendQueueCapacity - SearchLimits.SendQueueHeadroom;

    private void Deliver(QueryHit hit, bool direct)
    {
        if (!_searches.TryGetValue(hit.RequestId, out var search)
            || !search.TryDeliver(new ResultBatch(hit.Source, hit.Hops, direct, hit.Backtrace, hit.Files)))
        {
            // The search has ended: its late responses have nowhere to go.
            Counters.UnknownResponse();
        }
    }

    /// <param name="Received">The stack as it arrived (null at the entry server).</param>
    /// <param name="From">The server it came from (empty at the entry server).</param>
    /// <param name="Compiled">The query compiled once for this node's answer, with the pattern budget of whoever asked.</param>
    private sealed record CascadeItem(Guid RequestId, int Ttl, uint MaxResults, BacktraceStack? Received, FileQuery Query, CompiledQuery Compiled, Guid From, NetworkSearch? Entry);
}
