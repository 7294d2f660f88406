namespace P2PTransfer.Search;

/// <summary>The values a router runs with (from the node's options, or a simulation's).</summary>
/// <param name="Workers">Cascade workers taking requests from the search queue.</param>
/// <param name="QueueCapacity">Requests that may wait for a cascade worker.</param>
/// <param name="QueriesPerLinkPerSecond">Requests a link may send per second on average (twice as many in a burst).</param>
/// <param name="RecentWindow">How long a link remembers the responses it was handed, for re-delivery if it breaks.</param>
/// <param name="ClientQueueCapacity">Clients' searches that may wait for the clients' own cascade worker.</param>
/// <param name="WorkPerLinkPerSecond">Cascade worker time a link may use a second on average (four times as much in a burst).</param>
/// <param name="WorkPerAddressPerSecond">Cascade worker time a remote address, all its links and clients together, may use a second on average (four times as much in a burst).</param>
/// <param name="ForwardPatternWithin">A request with a pattern is sent on only if its pattern took less than this over this node's names.</param>
internal sealed record SearchRouterOptions(
    int Workers,
    int QueueCapacity,
    double QueriesPerLinkPerSecond,
    TimeSpan RecentWindow,
    int ClientQueueCapacity,
    TimeSpan WorkPerLinkPerSecond,
    TimeSpan WorkPerAddressPerSecond,
    TimeSpan ForwardPatternWithin);
