namespace P2PTransfer.Search;

/// <summary>What a node's search routing has done since it started; shown by Get-P2PNode.</summary>
public sealed class SearchCounters
{
    private long _searchesStarted;
    private long _searchesRefused;
    private long _requestsReceived;
    private long _requestsProcessed;
    private long _requestsCascaded;
    private long _duplicateRequests;
    private long _requestsWidened;
    private long _requestsClamped;
    private long _requestsRateLimited;
    private long _requestsRefused;
    private long _requestsQueueFull;
    private long _requestsOverBudget;
    private long _requestsNotForwarded;
    private long _responsesReceived;
    private long _responsesRouted;
    private long _responsesDelivered;
    private long _directDeliveries;
    private long _directDeliveryFailures;
    private long _duplicateResponses;
    private long _unknownResponses;
    private long _responsesRefused;
    private long _sendQueueFull;
    private long _resultsDropped;
    private long _responsesUnverified;
    private long _directDialsRefused;
    private long _backloggedLinkDrops;

    /// <summary>Searches this node was the entry server of (its own and its clients').</summary>
    public long SearchesStarted => Interlocked.Read(ref _searchesStarted);

    /// <summary>Searches clients asked this node to enter and it refused (invalid, too many, node closing or busy).</summary>
    public long SearchesRefused => Interlocked.Read(ref _searchesRefused);

    /// <summary>Query frames that arrived from linked servers.</summary>
    public long RequestsReceived => Interlocked.Read(ref _requestsReceived);

    /// <summary>Requests answered from this node's index: once per request, however often it arrived.</summary>
    public long RequestsProcessed => Interlocked.Read(ref _requestsProcessed);

    /// <summary>Query frames sent on to linked servers.</summary>
    public long RequestsCascaded => Interlocked.Read(ref _requestsCascaded);

    /// <summary>Requests that arrived again (another way round the network) and were dropped by the request cache.</summary>
    public long DuplicateRequests => Interlocked.Read(ref _duplicateRequests);

    /// <summary>Requests that arrived again by a shorter way, with more time to live: cascaded further, not processed again.</summary>
    public long RequestsWidened => Interlocked.Read(ref _requestsWidened);

    /// <summary>Requests asking to travel further than the maximum TTL, cut down to it.</summary>
    public long RequestsClamped => Interlocked.Read(ref _requestsClamped);

    /// <summary>Requests dropped because their sender was over its rate.</summary>
    public long RequestsRateLimited => Interlocked.Read(ref _requestsRateLimited);

    /// <summary>Requests dropped as invalid: a query that breaks the rules, a forged or overlong backtrace stack, or this node closing.</summary>
    public long RequestsRefused => Interlocked.Read(ref _requestsRefused);

    /// <summary>Requests dropped because the cascade queue was full.</summary>
    public long RequestsQueueFull => Interlocked.Read(ref _requestsQueueFull);

    /// <summary>Requests dropped (or clients' searches refused) because their link or remote address had used more than its share of the cascade workers' time.</summary>
    public long RequestsOverBudget => Interlocked.Read(ref _requestsOverBudget);

    /// <summary>Requests with a pattern answered here but not sent on: answering took too long (section 14, Receiving a Query).</summary>
    public long RequestsNotForwarded => Interlocked.Read(ref _requestsNotForwarded);

    /// <summary>Responses (QueryHit frames) that arrived, over links or delivered directly.</summary>
    public long ResponsesReceived => Interlocked.Read(ref _responsesReceived);

    /// <summary>Responses handed to the previous server of their backtrace stack.</summary>
    public long ResponsesRouted => Interlocked.Read(ref _responsesRouted);

    /// <summary>Responses this node gathered as the entry server of a search.</summary>
    public long ResponsesDelivered => Interlocked.Read(ref _responsesDelivered);

    /// <summary>Responses this node sent straight to an entry server because a hop of their route was gone.</summary>
    public long DirectDeliveries => Interlocked.Read(ref _directDeliveries);

    /// <summary>Responses that could not be delivered directly (entry server gone, unreachable, or another node at its address).</summary>
    public long DirectDeliveryFailures => Interlocked.Read(ref _directDeliveryFailures);

    /// <summary>Responses that arrived again and were dropped by the response cache.</summary>
    public long DuplicateResponses => Interlocked.Read(ref _duplicateResponses);

    /// <summary>Responses to requests this node never saw (or long forgot), or to searches that have ended, dropped.</summary>
    public long UnknownResponses => Interlocked.Read(ref _unknownResponses);

    /// <summary>Responses dropped as forged or misrouted (not addressed to this node, from the wrong server, or back to their sender).</summary>
    public long ResponsesRefused => Interlocked.Read(ref _responsesRefused);

    /// <summary>Frames not sent because a link's send queue was full (a slow or stuck peer).</summary>
    public long SendQueueFull => Interlocked.Read(ref _sendQueueFull);

    /// <summary>Results an entry server dropped because its reader did not keep up.</summary>
    public long ResultsDropped => Interlocked.Read(ref _resultsDropped);

    /// <summary>Responses an entry server dropped because their source's signature did not verify (forged or altered on the way).</summary>
    public long ResponsesUnverified => Interlocked.Read(ref _responsesUnverified);

    /// <summary>Direct deliveries this node did not dial: an entry server without a valid signature on its request, a host name, over the rate per address, or resting after a failed dial.</summary>
    public long DirectDialsRefused => Interlocked.Read(ref _directDialsRefused);

    /// <summary>Requests dropped, and answers cut short, because the link they came over had more than <see cref="SearchLimits.MaxQueuedBytesPerLink"/> bytes waiting to be sent (its remote asks faster than it reads).</summary>
    public long BackloggedLinkDrops => Interlocked.Read(ref _backloggedLinkDrops);

    internal void SearchStarted() => Interlocked.Increment(ref _searchesStarted);
    internal void SearchRefused() => Interlocked.Increment(ref _searchesRefused);
    internal void RequestReceived() => Interlocked.Increment(ref _requestsReceived);
    internal void RequestProcessed() => Interlocked.Increment(ref _requestsProcessed);
    internal void RequestCascaded() => Interlocked.Increment(ref _requestsCascaded);
    internal void DuplicateRequest() => Interlocked.Increment(ref _duplicateRequests);
    internal void RequestWidened() => Interlocked.Increment(ref _requestsWidened);
    internal void RequestClamped() => Interlocked.Increment(ref _requestsClamped);
    internal void RequestRateLimited() => Interlocked.Increment(ref _requestsRateLimited);
    internal void RequestRefused() => Interlocked.Increment(ref _requestsRefused);
    internal void RequestQueueFull() => Interlocked.Increment(ref _requestsQueueFull);
    internal void RequestOverBudget() => Interlocked.Increment(ref _requestsOverBudget);
    internal void RequestNotForwarded() => Interlocked.Increment(ref _requestsNotForwarded);
    internal void ResponseReceived() => Interlocked.Increment(ref _responsesReceived);
    internal void ResponseRouted() => Interlocked.Increment(ref _responsesRouted);
    internal void ResponseDelivered() => Interlocked.Increment(ref _responsesDelivered);
    internal void DirectDelivery() => Interlocked.Increment(ref _directDeliveries);
    internal void DirectDeliveryFailed() => Interlocked.Increment(ref _directDeliveryFailures);
    internal void DuplicateResponse() => Interlocked.Increment(ref _duplicateResponses);
    internal void UnknownResponse() => Interlocked.Increment(ref _unknownResponses);
    internal void ResponseRefused() => Interlocked.Increment(ref _responsesRefused);
    internal void SendQueueWasFull() => Interlocked.Increment(ref _sendQueueFull);
    internal void ResponseUnverified() => Interlocked.Increment(ref _responsesUnverified);
    internal void DirectDialRefused() => Interlocked.Increment(ref _directDialsRefused);
    internal void BackloggedLinkDrop() => Interlocked.Increment(ref _backloggedLinkDrops);
    internal void ResultsWereDropped(int count) => Interlocked.Add(ref _resultsDropped, count);
}
