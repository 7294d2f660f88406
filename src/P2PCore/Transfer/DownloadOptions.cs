namespace P2PTransfer.Transfer;

/// <summary>How a batch downloads.</summary>
public sealed class DownloadOptions
{
    /// <summary>Folder the files go to; created if missing.</summary>
    public required string Destination { get; init; }

    /// <summary>Files downloaded at once.</summary>
    public int ThrottleLimit { get; init; } = TransferLimits.DefaultThrottleLimit;

    /// <summary>Sources used at once for one file (the others stand by in case one fails).</summary>
    public int MaxSources { get; init; } = TransferLimits.DefaultMaxSources;

    /// <summary>
    /// Bandwidth of the whole command, in bytes a second (every file and source together); null for no limit.
    /// Pieces are requested no faster than this, so the average rate keeps to it (a piece may arrive in a burst).
    /// </summary>
    public long? MaxBytesPerSecond { get; init; }

    /// <summary>
    /// Names may be relative paths ('/'-separated, as search results' RelativePath): each file is saved in its folders
    /// below <see cref="Destination"/>, made as needed. Without it a name is a plain file name.
    /// </summary>
    public bool KeepFolders { get; init; }

    /// <summary>Replace a destination file whose content differs.</summary>
    public bool Force { get; init; }

    /// <summary>A source sending nothing for this long while pieces are requested from it is dropped.</summary>
    public TimeSpan StallTimeout { get; init; } = TransferLimits.StallTimeout;

    /// <summary>Where the batch lists its downloads while it lives (for Get-P2PTransfer and its kin); none when null.</summary>
    public TransferRegistry? Registry { get; init; }

    /// <summary>The key of the private network the sources belong to (<see cref="Identity.NetworkKey"/>); null for an open network.</summary>
    public byte[]? NetworkKey { get; init; }

    /// <summary>
    /// Which pieces after a source's first ones are checked on arrival: a number below its argument, 0 to check
    /// (<see cref="ArrivalChecks"/>); random when null. Tests set it to make the choice known.
    /// </summary>
    internal Func<int, int>? PickArrivalChecks { get; init; }

    /// <summary>Called from engine threads with lines for -Verbose; must not block.</summary>
    public Action<string>? Trace { get; init; }
}
