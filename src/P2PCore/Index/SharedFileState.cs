namespace P2PTransfer.Index;

/// <summary>Where a shared file is in its life in the index.</summary>
public enum SharedFileState
{
    /// <summary>Found on disk, waiting for or being hashed; not yet searchable.</summary>
    Hashing = 0,

    /// <summary>Hashed and searchable.</summary>
    Ready = 1,

    /// <summary>Could not be read; retried at the next reconcile.</summary>
    Unreadable = 2,
}
