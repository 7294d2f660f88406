namespace P2PTransfer.Search;

/// <summary>Why a search ended.</summary>
internal enum SearchEndReason
{
    /// <summary>Its time was up.</summary>
    Timeout,
    /// <summary>It had as many results as asked for.</summary>
    MaxResults,
    /// <summary>Nothing more could come: the request reached no other server.</summary>
    Complete,
    /// <summary>The client stopped it.</summary>
    Cancelled,
    /// <summary>The entry server is closing and its drain timeout ran out.</summary>
    NodeClosing,
}
