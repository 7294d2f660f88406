namespace P2PTransfer.Transfer;

/// <summary>Where a download is in its life (the states BitsTransfer users know).</summary>
public enum DownloadState
{
    /// <summary>Waiting for its turn (the batch's throttle, or another name of the same content).</summary>
    Queued,

    /// <summary>Fetching pieces from its sources.</summary>
    Transferring,

    /// <summary>Fetching nothing until resumed; its partial file and record stay.</summary>
    Suspended,
    Completed,

    /// <summary>The destination already held this content: nothing was downloaded.</summary>
    Skipped,
    Failed,

    /// <summary>Cancelled (Ctrl+C, Stop-Job, Stop-P2PTransfer) or interrupted in an earlier run: its partial file stays for a resume, unless discarded.</summary>
    Stopped,
}
