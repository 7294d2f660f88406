using P2PTransfer.Common;
using P2PTransfer.Index;

namespace P2PTransfer.Transfer;

/// <summary>
/// A node's server side of transfers: how many downloaders it serves at once (-MaxUploads), what it has served,
/// and where it finds a file (the index, by hash only).
/// </summary>
internal sealed class UploadService(ShareIndex index, WorkTracker work, int maxUploads, string nodeName)
{
    private int _slots;

    public UploadCounters Counters { get; } = new();

    public int MaxUploads { get; } = maxUploads;

    internal ShareIndex Index => index;

    internal string NodeName => nodeName;

    /// <summary>True once the node is closing: uploads under way finish, new ones are refused.</summary>
    internal bool IsClosing => work.IsClosing;

    /// <summary>
    /// Takes an upload slot and a work lease (closing waits for uploads under way). Fails with the reason when the
    /// node is closing or every slot is taken.
    /// </summary>
    internal bool TryBegin(out WorkLease lease, out bool closing)
    {
        closing = work.IsClosing;
        if (closing)
        {
            lease = default;
            return false;
        }

        if (Interlocked.Increment(ref _slots) > MaxUploads)
        {
            Interlocked.Decrement(ref _slots);
            lease = default;
            return false;
        }

        if (!work.TryBegin(out lease))
        {
            Interlocked.Decrement(ref _slots);
            closing = true;
            return false;
        }

        Counters.UploadStarted();
        return true;
    }

    internal void End(ref WorkLease lease)
    {
        Interlocked.Decrement(ref _slots);
        Counters.UploadEnded();
        lease.Dispose();
    }
}
