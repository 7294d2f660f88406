namespace P2PTransfer.Index;

/// <summary>How a node's share index is set up.</summary>
public sealed class IndexOptions
{
    /// <summary>Folders or files to share; null keeps what the index shared last time.</summary>
    public IReadOnlyList<string>? Shares { get; set; }

    /// <summary>Wildcards on file and folder names that are never shared (for example <c>*.tmp</c>, <c>.git</c>).</summary>
    public IReadOnlyList<string> Exclude { get; set; } = [];

    /// <summary>Files hashed at the same time.</summary>
    public int HashWorkers { get; set; } = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>How often every root is compared with the disk, to catch changes whose notifications were lost.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Quiet time after a change notification before the changed paths are looked at.</summary>
    public TimeSpan ChangeDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Awaited by a hashing worker after each piece it reads, with the file's full path and the bytes of it read so
    /// far, while the file is open; null for none. Follows hashing piece by piece (a crash test holds a worker inside
    /// a file with it, so the process is killed mid-read).
    /// </summary>
    internal Func<string, long, CancellationToken, Task>? PieceRead { get; set; }

    /// <summary>
    /// True for a file name that is never shared, whatever the shares and exclusions say. The node names here the
    /// files of its downloads in progress (a partial file and its record; the finished file is shared once it has its
    /// name). The default names those same files, NAME.p2ppart and NAME.p2ppart.pieces in any case, so an index opened
    /// without a node never shares them either.
    /// </summary>
    internal Func<string, bool> IsNeverShared { get; set; } = IsDownloadInProgress;

    /// <summary>These options with <see cref="IsNeverShared"/> replaced; the caller's options are left as they are.</summary>
    internal IndexOptions WithNeverShared(Func<string, bool> isNeverShared)
    {
        var copy = (IndexOptions)MemberwiseClone();
        copy.IsNeverShared = isNeverShared;
        return copy;
    }

    private static bool IsDownloadInProgress(string name) =>
        name.EndsWith(".p2ppart", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".p2ppart.pieces", StringComparison.OrdinalIgnoreCase);
}
