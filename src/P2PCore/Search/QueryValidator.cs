using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>
/// What a server checks in a Query from a linked server before it queues it (docs/protocol.md section 14,
/// "Receiving a Query", steps 2 and 3): who may have sent it, where it has been, and how much further it may go.
/// Pure: the router supplies what it knows (its own id, the link's remote id, whether it is closing).
/// </summary>
internal static class QueryValidator
{
    /// <summary>Why the request is dropped, or null when it may be queued (its query's own rules are checked when it is compiled).</summary>
    public static string? Refusal(Query query, Guid self, Guid sender, string senderName, bool closing)
    {
        var backtrace = query.Backtrace;
        return closing ? "this node is closing"
            : backtrace.Top.NodeId != sender ? $"its backtrace stack does not end with the sender ({senderName})"
            : !backtrace.HasDistinctServers() ? "its backtrace stack names a server twice"
            : backtrace.Contains(self) ? "its backtrace stack names this node already: a loop or a forgery"
            : backtrace.Count > SearchLimits.MaxTtl ? $"it travelled {backtrace.Count} links; the most is {SearchLimits.MaxTtl}"
            : null;
    }

    /// <summary>The TTL the request keeps: hops travelled plus hops left never exceed <see cref="SearchLimits.MaxTtl"/>, whatever the sender asked.</summary>
    public static int ClampedTtl(Query query) => Math.Min((int)query.Ttl, SearchLimits.MaxTtl - query.Backtrace.Count);

    /// <summary>The files the request may get from this server: 0 counts as 1, as in a Search (the entry server never sends 0).</summary>
    public static uint ClampedMaxResults(Query query) => Math.Clamp(query.MaxResults, 1u, SearchLimits.MaxHitsPerSource);
}
