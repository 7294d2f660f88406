namespace P2PTransfer.Transfer;

/// <summary>The destination folder cannot be made for a cause other than permission: a read-only disk, a file where a folder of its path should be.</summary>
public sealed class DestinationFolderException(string folder, IOException inner)
    : IOException($"cannot create the destination folder '{folder}': {inner.Message}", inner);
