using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>
/// A node's part in network search (the seed design): requests are queued for the cascade workers, which check
/// the request cache, forward each request to every linked server but the one it came from (<see cref="QueryForwarder"/>),
/// and answer it from the node's own index (<see cref="LocalAnswerer"/>); responses travel back along the request's
/// backtrace stack, each server popping itself (<see cref="ResponseRouter"/>); when the way back is broken, the
/// response goes straight to the entry server, which gathers everything for its client.
/// </summary>
/// <remarks>
/// It knows the node only through what it is given: its own identity, its links, its work tracker, its index, its
/// log, whether it is closing, and a clock, so a simulation can run it over in-memory links on a virtual clock
/// (direct delivery still dials the entry server).
/// </remarks>
internal sealed class SearchRouter
{
    private readonly SourceSigner _self;
    private readonly RouteHop _selfHop;
    private readonly WorkTracker _work;
    private readonly NodeLog _log;
    private readonly Func<bool> _closing;
    private readonly TimeProvider _clock;
    private readonly Channel<CascadeItem> _queue;
    private readonly Channel<CascadeItem> _ownQueue = Channel.CreateBounded<CascadeItem>(new BoundedChannelOptions(256) { SingleReader = true });
    private readonly Channel<CascadeItem> _clientQueue;
    private readonly ExpiringMap<string, WorkBudget> _addressBudgets;
    private readonly ExpiringMap<Guid, bool> _notForwarded;
    private readonly ConcurrentDictionary<Guid, NetworkSearch> _searches = new();
    private readonly RequestCache _requests;
    private readonly LinkSearchStates _linkStates;
    private readonly DirectDelivery _direct;
    private readonly QueryForwarder _forwarder;
    private readonly ISearchLinks _links;
    private readonly Func<IPAddress, IEnumerable<Guid>> _linkedAt;
    private readonly ResponseRouter _responses;
    private readonly LocalAnswerer _answerer;
    private readonly int _workers;
    private readonly SearchRouterOptions _options;

    /// <param name="self">This node as the source of its answers and the entry server of its searches (it signs both); its id and endpoint are what it pushes on a request's stack.</param>
    /// <param name="dialer">How direct delivery reaches an entry server when the route back is broken.</param>
    /// <param name="closing">True once the node is closing: it takes no more requests from its links.</param>
    /// <param name="clock">Where the router's time comes from (search timeouts, link rates, recent responses, the caches' ages); the system's by default.</param>
    /// <param name="linkedAt">The ids of nodes this node linked to at an address before (its host cache), besides its live links: direct delivery never dials an address for another id.</param>
    public SearchRouter(
        SourceSigner self,
        ISearchLinks links,
        IConnectionDialer dialer,
        WorkTracker work,
        LocalIndexSearch findLocal,
        NodeLog log,
        SearchRouterOptions options,
        Func<bool> closing,
        TimeProvider? clock = null,
        Func<IPAddress, IEnumerable<Guid>>? linkedAt = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _self = self;
        _work = work;
        _log = log;
        _closing = closing;
        _clock = clock ?? TimeProvider.System;
        _workers = Math.Max(1, options.Workers);
        _options = options;
        _clientQueue = Channel.CreateBounded<CascadeItem>(new BoundedChannelOptions(Math.Max(1, options.ClientQueueCapacity)));
        _addressBudgets = new ExpiringMap<string, WorkBudget>(4096, TimeSpan.FromMinutes(10), _clock);
        _notForwarded = new ExpiringMap<Guid, bool>(10_000, SearchLimits.MaxTimeout * 2, _clock);
        _queue = Channel.CreateBounded<CascadeItem>(new BoundedChannelOptions(Math.Max(1, options.QueueCapacity))
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
        _requests = new RequestCache(clock: _clock);
        _linkStates = new LinkSearchStates(options, _clock);
        var verifier = new SignatureVerifier(clock: _clock);
        _direct = new DirectDelivery(
            Hello.Create(ConnectionRole.Client, self.NodeId, self.Endpoint, self.Name), dialer, _requests.EntryWithProof, NodesAt, verifier, log, Counters, _clock);
        _selfHop = new RouteHop(self.NodeId, self.Endpoint);
        _links = links;
        _linkedAt = linkedAt ?? (_ => []);
        _forwarder = new QueryForwarder(_selfHop, links, Counters);
        _responses = new ResponseRouter(self.NodeId, links, _linkStates, _requests, new ResponseCache(clock: _clock), SearchOf, _direct, verifier, log, Counters);
        _answerer = new LocalAnswerer(self, work, findLocal, _responses, log, Counters);
    }

    public SearchCounters Counters { get; } = new();

    /// <summary>This node as its own results name it (a local search: nothing signed).</summary>
    public SourceNode LocalSource => _self.Local;

    /// <summary>Searches this node is gathering right now as their entry server.</summary>
    public int ActiveSearches => _searches.Count;

    /// <summary>Starts the cascade workers and direct delivery; they stop with the node.</summary>
    public void Start(BackgroundTasks tasks, CancellationToken stopping)
    {
        for (int i = 0; i < _workers; i++)
        {
            // Peers' requests first; when there are none, these workers help with clients' searches.
            tasks.Run("cascade worker", () => SharedCascadeLoopAsync(_queue.Reader, _clientQueue.Reader, stopping));
        }

        // This node's own searches have a worker of their own: a peer's slow requests cannot hold them up.
        tasks.Run("cascade worker for own searches", () => CascadeLoopAsync(_ownQueue.Reader, stopping));

        // Clients' searches too, so a flood of requests from peers cannot keep the node's clients waiting.
        tasks.Run("cascade worker for clients' searches", () => CascadeLoopAsync(_clientQueue.Reader, stopping));

        tasks.Run("direct delivery", () => _direct.RunAsync(stopping));
    }

    /// <summary>
    /// Enters a search at this node: it is queued like any request, answered from this node's index and cascaded
    /// to every linked server within <see cref="SearchOptions.Ttl"/>. Throws <see cref="ArgumentException"/> for
    /// an invalid query and <see cref="NodeUnavailableException"/> when the node is closing or overloaded.
    /// </summary>
    public NetworkSearch Begin(FileQuery query, SearchOptions options) => Begin(query, options, clientAddress: null);

    /// <summary>
    /// Enters a search for a remote client: it waits in the clients' queue (neither with the peers' requests nor with
    /// the node's own searches), its pattern gets the budget of a remote request, and the worker time it takes is
    /// charged to the client's address; an address over its budget is refused NodeBusy.
    /// </summary>
    internal NetworkSearch BeginForClient(FileQuery query, SearchOptions options, string clientAddress) => Begin(query, options, clientAddress);

    private NetworkSearch Begin(FileQuery query, SearchOptions options, string? clientAddress)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        bool forClient = clientAddress is not null;
        // Compiled once: the same compiled query answers from this node's index. Clients get a peer's pattern budget.
        var compiled = QueryWire.EnsureSendable(query, forClient ? SearchLimits.RemoteRegexBudget : null);
        var source = clientAddress is null ? null : new RequestSource(null, AddressBudget(clientAddress));
        if (source is not null && !source.Allows())
        {
            Counters.RequestOverBudget();
            throw new NodeUnavailableException(ProtocolError.NodeBusy, $"node {_self.Name} ({_self.Endpoint}) is busy: searches from {clientAddress} took more than their share of its time; try again shortly");
        }

        if (!_work.TryBegin(out var lease))
        {
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {_self.Name} ({_self.Endpoint}) is shutting down");
        }

        var search = new NetworkSearch(Guid.NewGuid(), query, options, lease, Counters, s => _searches.TryRemove(s.RequestId, out _), _clock);
        if (search.EndReason is not null)
        {
            // The drain cut-off came between the lease and its registration.
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {_self.Name} ({_self.Endpoint}) is shutting down");
        }

        _searches[search.RequestId] = search;
        search.Trace($"search {search.RequestId.ToString()[..8]} entered at {_self.Name} ({_self.Endpoint}), TTL {search.Ttl}, timeout {options.ClampedTimeout.TotalSeconds:0.###} s");

        // The clock starts before a worker can see the search: once queued, it may end at any moment.
        search.StartTimer();
        if (search.EndReason is not null)
        {
            // No time to gather anything: nothing is sent.
            return search;
        }

        var item = new CascadeItem(search.RequestId, search.Ttl, (uint)search.MaxResults, null, query, compiled, Guid.Empty, search, _self.SignEntry(search.RequestId), source);
        if (!(forClient ? _clientQueue : _ownQueue).Writer.TryWrite(item))
        {
            search.End(SearchEndReason.Cancelled);
            throw new NodeUnavailableException(ProtocolError.NodeBusy, $"node {_self.Name} ({_self.Endpoint}) is busy: its search queue is full");
        }

        Counters.SearchStarted();
        return search;
    }

    /// <summary>A Query frame from a linked server. Never throws for anything the peer sent: bad requests are dropped and counted.</summary>
    public void OnQuery(ISearchLink from, Query query)
    {
        Counters.RequestReceived();
        var state = _linkStates.Of(from);
        if (!state.QueryRate.TryTake())
        {
            Counters.RequestRateLimited();
            return;
        }

        // Frames are not all a link's requests cost: one whose requests took too much worker time, or whose address
        // did (all links from one address share that budget), has the next ones dropped until time pays it back.
        // Sending the answers is part of that time.
        var source = new RequestSource(state.Work, AddressBudget(from.RemoteAddress));
        source.Charge(from.TakeSendTime());
        if (!source.Allows())
        {
            Counters.RequestOverBudget();
            return;
        }

        if (IsBacklogged(from))
        {
            // Its remote asks faster than it reads: answers would only pile up in memory.
            Counters.BackloggedLinkDrop();
            return;
        }

        string? refusal = QueryValidator.Refusal(query, _self.NodeId, from.RemoteId, from.RemoteName, _closing());
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
            _log.Write(NodeLogLevel.Verbose, $"dropped request {query.RequestId.ToString()[..8]} from {from.RemoteName}: {refusal}");
            return;
        }

        // Cap what we accept, not just what we send: hops travelled plus hops left never exceed the maximum.
        int ttl = QueryValidator.ClampedTtl(query);
        if (ttl < query.Ttl)
        {
            Counters.RequestClamped();
        }

        var item = new CascadeItem(query.RequestId, ttl, QueryValidator.ClampedMaxResults(query), query.Backtrace, query.Search, compiled!, from.RemoteId, null, query.Entry, source, from.RemoteAddress);
        if (!_queue.Writer.TryWrite(item))
        {
            Counters.RequestQueueFull();
        }
    }

    /// <summary>A QueryHit from a linked server: a response travelling back to its entry server.</summary>
    public void OnQueryHit(ISearchLink from, QueryHit hit) => _responses.OnQueryHit(from, hit);

    /// <summary>
    /// A QueryHit that came over a client connection: delivered directly to this node as the entry server, by a
    /// server of the response's route (one whose link broke) or by its source.
    /// </summary>
    internal void OnDirectHit(Guid dialer, QueryHit hit) => _responses.OnDirectHit(dialer, hit);

    /// <summary>A link has gone: what it was handed lately may have died with it, so it goes straight to the entry servers.</summary>
    public void OnLinkEnded(ISearchLink link) => _responses.OnLinkEnded(link);

    /// <summary>The worker-time budget every link and client from one remote address shares.</summary>
    private WorkBudget AddressBudget(string address)
    {
        lock (_addressBudgets)
        {
            if (_addressBudgets.TryGetValue(address, out var existing))
            {
                return existing;
            }

            var budget = new WorkBudget(_options.WorkPerAddressPerSecond, _clock);
            _addressBudgets.TryAdd(address, budget, out _);
            return budget;
        }
    }

    /// <summary>Ids of verified nodes at an address: the live links from or to it (TLS proved their ids), then the hosts this node linked to there.</summary>
    private IEnumerable<Guid> NodesAt(IPAddress address) =>
        _links.Linked().Where(l => IPAddress.TryParse(l.RemoteAddress, out var a) && a.Equals(address)).Select(l => l.RemoteId).Concat(_linkedAt(address));

    private static bool IsBacklogged(ISearchLink link) => link.QueuedBytes > SearchLimits.MaxQueuedBytesPerLink;

    private NetworkSearch? SearchOf(Guid requestId) => _searches.TryGetValue(requestId, out var search) ? search : null;

    private async Task CascadeLoopAsync(ChannelReader<CascadeItem> queue, CancellationToken stopping)
    {
        try
        {
            await foreach (var item in queue.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                HandleSafely(item, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Takes from <paramref name="first"/> while it has requests, else from <paramref name="second"/>.</summary>
    private async Task SharedCascadeLoopAsync(ChannelReader<CascadeItem> first, ChannelReader<CascadeItem> second, CancellationToken stopping)
    {
        // One wait per queue at a time, kept across turns: a queue that stays empty does not gather waiters.
        Task<bool>? waitFirst = null;
        Task<bool>? waitSecond = null;
        try
        {
            while (true)
            {
                while (first.TryRead(out var item) || second.TryRead(out item))
                {
                    HandleSafely(item, stopping);
                }

                waitFirst ??= first.WaitToReadAsync(stopping).AsTask();
                waitSecond ??= second.WaitToReadAsync(stopping).AsTask();
                if (!await (await Task.WhenAny(waitFirst, waitSecond).ConfigureAwait(false)).ConfigureAwait(false))
                {
                    return;
                }

                waitFirst = waitFirst.IsCompleted ? null : waitFirst;
                waitSecond = waitSecond.IsCompleted ? null : waitSecond;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private void HandleSafely(CascadeItem item, CancellationToken stopping)
    {
        try
        {
            Handle(item);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            // One request that fails must not stop the worker: the others still need it.
            _log.Write(NodeLogLevel.Warning, $"request {item.RequestId.ToString()[..8]} failed: {ex.Message}");
            item.Entry?.End(SearchEndReason.Cancelled);
        }
    }

    private void Handle(CascadeItem item)
    {
        if (item.Entry is { EndReason: not null })
        {
            // Cancelled or timed out while queued: nobody would read its responses.
            return;
        }

        if (item.Entry is null && item.Source is { } source && !source.Allows())
        {
            // Its sender went over its worker time while this waited: the rest of a flood is dropped, not worked through.
            Counters.RequestOverBudget();
            return;
        }

        if (item.Entry is null && _links.Find(item.From) is { } from && IsBacklogged(from))
        {
            // The answers to its sender's earlier requests still wait to be read.
            Counters.BackloggedLinkDrop();
            return;
        }

        long started = Stopwatch.GetTimestamp();
        int cascaded;
        try
        {
            cascaded = HandleAdmitted(item);
        }
        finally
        {
            item.Source?.Charge(Stopwatch.GetElapsedTime(started));
        }

        // With nobody else asked, nothing more can come. Ended once charged, so a client that reads the end and
        // searches again is judged by a budget that holds this search's cost.
        if (cascaded == 0 && item.Entry is { } search)
        {
            search.End(SearchEndReason.Complete);
        }
    }

    /// <summary>Cascades and answers a request the budget let through; returns the servers it was sent to (-1 for a duplicate).</summary>
    private int HandleAdmitted(CascadeItem item)
    {
        // Checked here, where requests are taken one at a time, so two copies arriving at once are still one.
        var admission = _requests.Admit(item.RequestId, item.Ttl, item.Received?.Entry ?? _selfHop, item.EntryProof, item.FromAddress);
        if (admission == RequestAdmission.Duplicate)
        {
            Counters.DuplicateRequest();
            return -1;
        }

        if (admission == RequestAdmission.Widened)
        {
            Counters.RequestWidened();
        }

        int cascaded;
        if (item.Compiled.Pattern is null)
        {
            cascaded = _forwarder.Cascade(item);
            if (admission == RequestAdmission.New)
            {
                _answerer.Answer(item);
            }
        }
        else
        {
            // A pattern may be expensive: it is answered here first, and sent on only if that was cheap, so a costly
            // pattern stops at the first server it costs too much, instead of every server's workers paying for it.
            bool forward = admission == RequestAdmission.New ? AnswerWithin(item) : !WasNotForwarded(item.RequestId);
            cascaded = forward ? _forwarder.Cascade(item) : 0;
        }

        return cascaded;
    }

    /// <summary>
    /// Answers a request with a pattern; true when it may be sent on: its pattern took less than the node's limit over
    /// this node's names, and kept within its budget. The pattern's own time is judged, not the answer's (the index
    /// query, sending), so a busy machine does not stop cheap patterns.
    /// </summary>
    private bool AnswerWithin(CascadeItem item)
    {
        bool answered = _answerer.Answer(item);
        var took = item.Compiled.RegexTime;
        if ((answered && took < _options.ForwardPatternWithin) || item.Ttl <= 0)
        {
            return true;
        }

        Counters.RequestNotForwarded();
        lock (_notForwarded)
        {
            _notForwarded.TryAdd(item.RequestId, true, out _);
        }

        item.Entry?.Trace($"not sent on: its pattern took {took.TotalMilliseconds:0} ms over {_self.Name}'s own files (the limit is {_options.ForwardPatternWithin.TotalMilliseconds:0} ms)");
        return false;
    }

    private bool WasNotForwarded(Guid requestId)
    {
        lock (_notForwarded)
        {
            return _notForwarded.TryGetValue(requestId, out _);
        }
    }
}
