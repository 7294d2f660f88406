using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>Each end of a search has its own SearchDone status (protocol.md, sections 6 and 14).</summary>
internal static class SearchEndStatus
{
    /// <summary>The status a SearchDone carries for a search that ended this way.</summary>
    public static ProtocolError Of(SearchEndReason reason) => reason switch
    {
        SearchEndReason.Timeout => ProtocolError.SearchTimeout,
        SearchEndReason.MaxResults => ProtocolError.SearchMaxResults,
        SearchEndReason.Complete => ProtocolError.SearchComplete,
        SearchEndReason.Cancelled => ProtocolError.SearchCancelled,
        SearchEndReason.NodeClosing => ProtocolError.NodeClosing,
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "not an end of a search"),
    };

    /// <summary>
    /// Why a search ended, from its SearchDone status; null for a refusal, and for status 0 (a search that ended
    /// without saying why).
    /// </summary>
    public static SearchEndReason? ReasonOf(ProtocolError status) => status switch
    {
        ProtocolError.SearchTimeout => SearchEndReason.Timeout,
        ProtocolError.SearchMaxResults => SearchEndReason.MaxResults,
        ProtocolError.SearchComplete => SearchEndReason.Complete,
        ProtocolError.SearchCancelled => SearchEndReason.Cancelled,
        ProtocolError.NodeClosing => SearchEndReason.NodeClosing,
        _ => null,
    };

    /// <summary>True for the statuses of a search that ran and ended normally (not refused, not cut off).</summary>
    public static bool IsNormalEnd(ProtocolError status) =>
        status is ProtocolError.None or ProtocolError.SearchTimeout or ProtocolError.SearchMaxResults or ProtocolError.SearchComplete or ProtocolError.SearchCancelled;
}
