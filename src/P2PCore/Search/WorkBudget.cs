using P2PTransfer.Common;

namespace P2PTransfer.Search;

/// <summary>
/// Cascade worker time one source of requests (a peer link, or a remote address with all its links and clients) may
/// use: <paramref name="perSecond"/> a second on average, four times as much in a burst. Requests are charged what
/// they took once handled; a source in debt has its further requests dropped until time has paid the debt back.
/// </summary>
internal sealed class WorkBudget(TimeSpan perSecond, TimeProvider clock)
{
    private readonly RateLimit _milliseconds = new(
        Math.Max(perSecond.TotalMilliseconds, 0.001), Math.Max(perSecond.TotalMilliseconds, 0.001) * 4, clock);

    /// <summary>False while the source owes more time than it has earned.</summary>
    public bool Allows() => _milliseconds.TryTakeOnCredit(0, out _);

    /// <summary>Charges the time a request of the source took.</summary>
    public void Charge(TimeSpan spent) => _milliseconds.Charge(spent.TotalMilliseconds);
}
