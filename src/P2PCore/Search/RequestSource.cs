namespace P2PTransfer.Search;

/// <summary>
/// Who pays for a request's worker time: the link it came over (none for a client's search) and the remote address
/// behind it, which all links and clients from that address share, so links under made-up node ids share one budget.
/// </summary>
internal sealed class RequestSource(WorkBudget? link, WorkBudget address)
{
    /// <summary>True while neither the link nor the address is in debt.</summary>
    public bool Allows() => (link?.Allows() ?? true) && address.Allows();

    public void Charge(TimeSpan spent)
    {
        link?.Charge(spent);
        address.Charge(spent);
    }
}
