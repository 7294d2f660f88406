using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>A link to another server, as search routing sees it: who is behind it, whether it is going, and a way to send on it.</summary>
internal interface ISearchLink
{
    Guid RemoteId { get; }

    string RemoteName { get; }

    /// <summary>The remote's IP address, as the limits per source count it: links from one address share one worker-time budget.</summary>
    string RemoteAddress { get; }

    /// <summary>True once a close of the link has started or it has ended: nothing more is sent on it.</summary>
    bool IsClosing { get; }

    /// <summary>The remote server announced it is closing: it gets no new requests, but still responses on their way back.</summary>
    bool RemoteIsClosing { get; }

    /// <summary>
    /// Queues a frame when the link's send queue has more than <paramref name="headroom"/> free places (routed
    /// search traffic leaves room for keep-alive and goodbyes); false, without waiting, when it was not queued.
    /// </summary>
    bool TrySend(IMessage frame, int headroom);

    /// <summary>Bytes of frames waiting to be sent on the link: a remote that reads slower than it asks has them pile up.</summary>
    long QueuedBytes { get; }

    /// <summary>The time spent sending on the link since the last call, charged to the link's and its address's worker time.</summary>
    TimeSpan TakeSendTime();
}
