namespace P2PTransfer.Search;

/// <summary>The values a router runs with (from the node's options, or a simulation's).</summary>
/// <param name="Workers">Cascade workers taking requests from the search queue.</param>
/// <param name="QueueCapacity">Requests that may wait for a cascade worker.</param>
/// <param name="QueriesPerLinkPerSecond">Requests a link may send per second on average (twice as many in a burst).</param>
/// <param name="RecentWindow">How long a link remembers the responses it was handed, for re-delivery if it breaks.</param>
internal sealed record SearchRouterOptions(int Workers, int QueueCapacity, double QueriesPerLinkPerSecond, TimeSpan RecentWindow);
