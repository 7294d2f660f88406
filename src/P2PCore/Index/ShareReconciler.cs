using System.Collections.Concurrent;
using P2PTransfer.Common;

namespace P2PTransfer.Index;

/// <summary>
/// Brings the index in step with the disk: scans a root (or the part of it that changed), compares what it finds
/// with the rows (<see cref="ReconcileDiff"/>) and writes the differences in batches; rows that wait for hashing are
/// then the hash pipeline's work. Runs on the maintenance loop only.
/// </summary>
/// <param name="newScanner">A scanner that applies the exclusions as they are now.</param>
/// <param name="hashingNeeded">Called when rows wait for hashing.</param>
/// <param name="reconciled">Called when a pass over a reachable root is done.</param>
internal sealed class ShareReconciler(IndexDatabase db, PublishedRoots roots, Func<ShareScanner> newScanner, IndexCounters counters, NodeLog log, Action hashingNeeded, Action reconciled)
{
    private const int Batch = 2000;

    private readonly ConcurrentDictionary<long, byte> _unreachableRoots = new();

    /// <summary>Compares every root with the disk.</summary>
    public async Task ReconcileAllAsync(CancellationToken token)
    {
        long linksSkipped = 0;
        foreach (var root in roots.Current.All)
        {
            linksSkipped += await ReconcileAsync(root, string.Empty, token).ConfigureAwait(false);
        }

        counters.FullPassDone(linksSkipped);
    }

    /// <summary>Compares the parts of roots that changed paths touch with the disk.</summary>
    public async Task ReconcilePathsAsync(IReadOnlyList<string> paths, CancellationToken token)
    {
        foreach (var (root, scope) in roots.Current.ChangedScopes(paths))
        {
            await ReconcileAsync(root, scope, token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Compares a root (or the part of it at <paramref name="scope"/>) with the disk: unchanged files (same size and
    /// last-write time) are left alone, new and changed ones wait for hashing, vanished ones are removed. Rows below a
    /// folder that could not be read, or of a root that is not reachable (an unplugged disk), are kept as they are,
    /// so nothing is hashed again when it comes back. Returns the links skipped.
    /// </summary>
    public async Task<long> ReconcileAsync(ShareRoot root, string scope, CancellationToken token)
    {
        var scanner = newScanner();
        var diff = new ReconcileDiff(await Task.Run(() => db.LoadFiles(root.Id, scope), token).ConfigureAwait(false));
        foreach (var file in scanner.Scan(root, scope, token))
        {
            diff.Compare(file);
            if (diff.Pending >= Batch)
            {
                await ApplyAsync(root, diff.TakeBatch(), [], token).ConfigureAwait(false);
            }
        }

        if (scanner.RootUnreachable)
        {
            if (_unreachableRoots.TryAdd(root.Id, 0))
            {
                log.Write(NodeLogLevel.Warning, $"shared '{root.FullPath}' is not reachable; its {diff.Unmatched} indexed file(s) are kept until it is back");
            }

            return 0;
        }

        _unreachableRoots.TryRemove(root.Id, out _);
        await ApplyAsync(root, diff.TakeBatch(), diff.Vanished(scanner.UnreadableFolders), token).ConfigureAwait(false);
        if (diff.HashingInterrupted)
        {
            hashingNeeded();
        }

        counters.Unchanged(diff.Unchanged);
        counters.Reconciled();
        reconciled();
        return scanner.LinksSkipped;
    }

    private async Task ApplyAsync(ShareRoot root, ReconcileBatch batch, List<long> removed, CancellationToken token)
    {
        await Task.Run(() => db.ApplyChanges(root.Id, batch.Added, batch.Changed, batch.Retry, removed), token).ConfigureAwait(false);
        if (batch.Count > 0)
        {
            hashingNeeded();
        }

        if (removed.Count > 0)
        {
            log.Write(NodeLogLevel.Verbose, $"{removed.Count} file(s) no longer in '{root.FullPath}'");
        }
    }
}
