namespace P2PTransfer.Index;

/// <summary>One file a node shares, as Get-P2PShare shows it.</summary>
public sealed class SharedFile
{
    public required string Name { get; init; }

    /// <summary>Path as other nodes see it: the shared folder's name, then the path below it, with '/' separators.</summary>
    public required string RelativePath { get; init; }

    /// <summary>Where the file is on this machine; never sent to other nodes.</summary>
    public required string FullName { get; init; }

    public required long Size { get; init; }

    /// <summary>SHA-256 of the content in upper-case hex (as Get-FileHash prints it); null until hashed.</summary>
    public string? Hash { get; init; }

    public required DateTime LastWriteTime { get; init; }

    public required SharedFileState State { get; init; }

    /// <summary>Why the file could not be read, when <see cref="State"/> is Unreadable.</summary>
    public string? Error { get; init; }

    /// <summary>The shared folder (or file) this entry comes from.</summary>
    public required string Share { get; init; }

    public override string ToString() => RelativePath;
}
