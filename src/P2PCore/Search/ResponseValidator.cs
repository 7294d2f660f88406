using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>
/// What a server checks in a QueryHit before it routes or delivers it (docs/protocol.md section 14, "Receiving a
/// QueryHit"): a response may not claim a receiver, sender, route or entry server it cannot have. Pure: the
/// router supplies its own id, who handed it the response, and what its request cache knows.
/// </summary>
internal static class ResponseValidator
{
    /// <summary>
    /// A response over a peer link (step 1): addressed to this node, sent by the server before this one on its way
    /// back (<c>backtrace[remaining]</c>, or the source when remaining = count), no server twice, no deeper than
    /// <see cref="SearchLimits.MaxTtl"/>, and at least one file.
    /// </summary>
    public static bool IsValidOverLink(QueryHit hit, Guid self, Guid sender) =>
        hit.Receiver.NodeId == self && sender == ExpectedSender(hit) && IsWellFormed(hit);

    /// <summary>The server a response over a link must come from: the one after the receiver on the stack, or the source.</summary>
    public static Guid ExpectedSender(QueryHit hit) =>
        hit.Remaining < hit.Backtrace.Count ? hit.Backtrace[hit.Remaining].NodeId : hit.Source.NodeId;

    /// <summary>Step 2: the response names the entry server its request named when it came here (id and endpoint), so it cannot redirect direct delivery.</summary>
    public static bool NamesEntry(QueryHit hit, RouteHop entry) => entry == hit.Backtrace.Entry;

    /// <summary>
    /// A response delivered directly over a client connection: remaining 1, this node at the bottom of the stack, a
    /// dialer that is a server of the response's route (its source or on its stack), no server twice, no deeper
    /// than <see cref="SearchLimits.MaxTtl"/>, and at least one file.
    /// </summary>
    public static bool IsValidDirect(QueryHit hit, Guid self, Guid dialer) =>
        hit.Remaining == 1 && hit.Backtrace.Entry.NodeId == self && IsFromRoute(hit, dialer) && IsWellFormed(hit);

    /// <summary>A response is never sent back to the server it came from (step 5).</summary>
    public static bool GoesBack(QueryHit hit, Guid arrivedFrom) => hit.Receiver.NodeId == arrivedFrom;

    private static bool IsFromRoute(QueryHit hit, Guid dialer) =>
        dialer != Guid.Empty && (hit.Source.NodeId == dialer || hit.Backtrace.Contains(dialer));

    private static bool IsWellFormed(QueryHit hit) =>
        hit.Backtrace.HasDistinctServers() && hit.Backtrace.Count <= SearchLimits.MaxTtl && hit.Files.Count > 0;
}
