using P2PTransfer.Common;

namespace P2PTransfer.Search;

/// <summary>What the router keeps about one link: how many requests it may still send, the worker time they may take, and the responses it was handed lately.</summary>
internal sealed class LinkSearchState(SearchRouterOptions options, TimeProvider clock)
{
    /// <summary>How many search requests the link's server may send: a flood is dropped, not queued.</summary>
    public RateLimit QueryRate { get; } = new(options.QueriesPerLinkPerSecond, options.QueriesPerLinkPerSecond * 2, clock);

    /// <summary>How much cascade worker time the link's requests may take: a link whose requests cost too much has the next ones dropped.</summary>
    public WorkBudget Work { get; } = new(options.WorkPerLinkPerSecond, clock);

    /// <summary>Responses the link was handed lately, delivered again directly if it breaks.</summary>
    public RecentResponses RecentResponses { get; } = new(options.RecentWindow, clock);
}
