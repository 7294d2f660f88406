namespace P2PTransfer.Transfer;

/// <summary>Where a file of a download batch is in its life.</summary>
public enum DownloadState
{
    Queued,
    Running,
    Completed,

    /// <summary>The destination already held this content: nothing was downloaded.</summary>
    Skipped,
    Failed,
    Cancelled,
}
