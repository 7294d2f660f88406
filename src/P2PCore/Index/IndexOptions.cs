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
}
