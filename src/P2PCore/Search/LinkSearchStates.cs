using System.Runtime.CompilerServices;

namespace P2PTransfer.Search;

/// <summary>
/// The router's state of each link (<see cref="LinkSearchState"/>), made when a link is first seen. It lives as long
/// as the link: once the link has ended, its recent responses were taken for good, so a response handed to it
/// after that goes directly instead.
/// </summary>
internal sealed class LinkSearchStates(SearchRouterOptions options, TimeProvider clock)
{
    private readonly ConditionalWeakTable<ISearchLink, LinkSearchState> _states = [];

    public LinkSearchState Of(ISearchLink link) => _states.GetValue(link, _ => new LinkSearchState(options, clock));
}
