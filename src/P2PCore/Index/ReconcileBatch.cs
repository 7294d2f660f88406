namespace P2PTransfer.Index;

/// <summary>Changes a reconcile found, written to the index in one transaction: each of these rows then waits for hashing.</summary>
internal sealed record ReconcileBatch(List<DiskFile> Added, List<(long Id, DiskFile File)> Changed, List<long> Retry)
{
    public int Count => Added.Count + Changed.Count + Retry.Count;
}
