using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// Downloads one content from its sources into a partial file beside the destination: the piece list
/// (<see cref="PieceListFetch"/>, checked against the file's identity at the end), pieces fetched from every source
/// in parallel (<see cref="SourceWorker"/>), a source's first ones and a random share of the rest checked as they
/// arrive (<see cref="PieceAcceptance"/>, <see cref="ArrivalChecks"/>), the whole file's SHA-256 computed alongside
/// (<see cref="WholeFileHasher"/>), and only then the final name. When the whole file does not match, the pieces
/// taken unchecked are checked from disk, their sources dropped and the bad ones fetched again. Which sources are
/// used is <see cref="SourceHealth"/>'s to say.
/// </summary>
internal sealed class FileDownload(DownloadItem item, SourcePool pool, DownloadOptions options, Bandwidth? bandwidth)
{
    private readonly SourceHealth _health = new(item, options.StallTimeout, options.Trace);
    private readonly ArrivalChecks _checks = new(options.PickArrivalChecks);
    private Exception? _localFailure;

    public async Task<FileInfo> RunAsync(CancellationToken cancellationToken)
    {
        string listSource = "?";
        Action<string> report = line => Trace($"{item.Name}: {line}");
        var partial = item.Size is { } known ? PartialFile.TryResume(item.Destination, known, item.HashBytes, report) : null;
        if (partial is null)
        {
            var (size, pieceHashes, source) = await new PieceListFetch(item, pool, _health, options.Trace).FetchAsync(cancellationToken).ConfigureAwait(false);
            listSource = source;
            // With the size known beforehand, the partial file was looked for already. (Free space was checked
            // with the list; a file of one piece is written in one go, and a full disk fails that write clearly.)
            partial = item.Size is null ? PartialFile.TryResume(item.Destination, size, item.HashBytes, report) : null;
            item.Size = size;
            partial ??= PartialFile.Create(item.Destination, size, item.HashBytes, pieceHashes);
        }

        // A resumed file verifies against the piece list of its record, wherever the list above came from.
        bool listFromRecord = partial.Resumed;
        if (partial.DamagedOnResume > 0)
        {
            Trace($"{item.Name}: {partial.DamagedOnResume} piece(s) of the partial file from an earlier run no longer match their hash (damaged on this disk, not by a source); fetching them again");
        }

        if (partial.BadUncheckedOnResume > 0)
        {
            Trace($"{item.Name}: {partial.BadUncheckedOnResume} piece(s) an earlier run took without a check on arrival do not match their hash (bad data from their source, or damage on this disk); fetching them again");
        }

        if (partial.Verified.Count > 0)
        {
            item.Resumed(partial.Verified.Bytes);
            Trace($"{item.Name}: resuming, {partial.Verified.Count} of {partial.PieceCount} piece(s) verified already");
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        WholeFileHasher? hasher = null;
        Task<byte[]> hashing = Task.FromResult(Array.Empty<byte>());
        try
        {
            byte[] whole;
            while (true)
            {
                // With one piece (or none) the piece's hash is the file's hash: its check on arrival is the whole-file
                // check (a file of one piece is always checked on arrival: it is its source's first piece).
                hasher = partial.PieceCount > 1 ? new WholeFileHasher(partial) : null;
                var running = hasher;
                hashing = running is not null ? running.RunAsync(stop.Token) : Task.FromResult(partial.PieceCount == 0 ? Index.FileDigest.Empty.Sha256 : item.HashBytes);
                await FetchPiecesAsync(partial, hasher, stop.Token).ConfigureAwait(false);
                whole = await hashing.ConfigureAwait(false);
                hasher?.Dispose();
                if (whole.AsSpan().SequenceEqual(item.HashBytes) || !DropBadUncheckedPieces(partial))
                {
                    break;
                }

                // Bad pieces taken unchecked were dropped: fetched again, each checked as it arrives (at most one more
                // round: from here on no piece is taken unchecked), and the whole file hashed again from disk.
            }

            if (!whole.AsSpan().SequenceEqual(item.HashBytes))
            {
                // Damage on this disk since the pieces were checked, or a false piece list: the pieces on disk tell.
                if (partial.DropDamagedPieces() is var damaged and > 0)
                {
                    throw new P2PException(ProtocolError.VerificationFailed, $"'{item.Name}': the file's SHA-256 is {Convert.ToHexString(whole)}, not {item.Hash}, because {damaged} piece(s) of '{partial.DataPath}' changed on this disk after they were checked (not a source's doing); they were dropped from its record, and the next run fetches them again");
                }

                partial.Abandon();
                throw new P2PException(ProtocolError.VerificationFailed, listFromRecord
                    ? $"'{item.Name}': every piece matched the piece list kept in the partial file's record, but the file's SHA-256 is {Convert.ToHexString(whole)}, not {item.Hash}: the piece list an earlier run was given was false; the partial file was removed, and the next run starts afresh"
                    : $"'{item.Name}': every piece matched the piece list from {listSource}, but the file's SHA-256 is {Convert.ToHexString(whole)}, not {item.Hash}: that piece list was false; the partial file was removed");
            }

            partial.Complete(options.Force);
            return new FileInfo(item.Destination);
        }
        catch
        {
            stop.Cancel();
            try
            {
                await hashing.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }
            finally
            {
                hasher?.Dispose();
            }

            if (partial.PieceCount <= 1 || partial.Verified.Count == 0)
            {
                // Nothing to resume (within one piece, or no piece verified): no partial file and no reserved
                // space stay behind, whatever size a source announced.
                partial.Abandon();
            }
            else
            {
                partial.Suspend();
            }

            throw;
        }
    }

    /// <summary>
    /// The whole file did not match: checks from disk the pieces taken unchecked and drops the bad ones from the
    /// record; true when there were any (they are to be fetched again, every piece checked as it arrives from here
    /// on). Nobody is blamed yet: a piece that no longer matches on disk may have come bad from its source or been
    /// damaged on this disk since, and only a check on arrival tells; a source that sends it bad again is caught by
    /// that check and dropped.
    /// </summary>
    private bool DropBadUncheckedPieces(PartialFile partial)
    {
        _checks.CheckEveryPiece();
        var bad = partial.DropPiecesNotMatching(Enumerable.Range(0, partial.PieceCount).Where(partial.IsUnchecked).ToList());
        if (bad.Count == 0)
        {
            return false;
        }

        string pieces = string.Join(", ", bad.Take(10)) + (bad.Count > 10 ? ", ..." : string.Empty);
        Trace($"{item.Name}: piece(s) {pieces}, taken without a check on arrival, do not match their hash (bad data from their source, or damage on this disk); fetching them again, every piece checked as it arrives");
        item.Unverified(bad.Sum(piece => (long)TransferLimits.PieceLength(partial.Size, piece)));
        return true;
    }

    /// <summary>Runs one worker per source (up to MaxSources, more as sources join or fail) until every piece is verified.</summary>
    private async Task FetchPiecesAsync(PartialFile partial, WholeFileHasher? hasher, CancellationToken cancellationToken)
    {
        var scheduler = new PieceScheduler(partial.Verified);
        var worker = new SourceWorker(
            item,
            pool,
            _health,
            new PiecePacing(scheduler, bandwidth, partial.Size, hasher),
            scheduler,
            new PieceAcceptance(item, partial, scheduler, hasher, _checks),
            ex => Interlocked.CompareExchange(ref _localFailure, ex, null),
            options.Trace);
        var workers = new Dictionary<string, Task>(StringComparer.OrdinalIgnoreCase);
        var ended = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (!scheduler.AllVerified)
            {
                foreach (var source in item.Sources)
                {
                    if (workers.Count - ended.Count >= options.MaxSources)
                    {
                        break;
                    }

                    if (!workers.ContainsKey(source) && !_health.IsDropped(source))
                    {
                        workers[source] = worker.RunAsync(source, done.Token);
                    }
                }

                if (Volatile.Read(ref _localFailure) is { } local)
                {
                    throw local;
                }

                var running = workers.Where(w => !ended.Contains(w.Key)).Select(w => w.Value).ToList();
                if (running.Count == 0)
                {
                    throw _health.NoSourceLeft($"{partial.Verified.Count} of {partial.PieceCount} piece(s) verified");
                }

                // Wake when a worker ends or now and then, to take in sources that joined.
                await Task.WhenAny(running.Append(Task.Delay(250, cancellationToken))).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var (source, run) in workers)
                {
                    if (run.IsCompleted)
                    {
                        ended.Add(source);
                    }
                }

                if (ended.Count == workers.Count && !scheduler.AllVerified && item.Sources.All(s => workers.ContainsKey(s) || _health.IsDropped(s)))
                {
                    // Every source ended: those that were not dropped (they found nothing left to fetch) may try again.
                    foreach (var source in ended.Where(s => !_health.IsDropped(s)).ToList())
                    {
                        workers.Remove(source);
                        ended.Remove(source);
                    }
                }
            }
        }
        finally
        {
            done.Cancel();
            await Task.WhenAll(workers.Values).ConfigureAwait(false);
        }
    }

    private void Trace(string line) => options.Trace?.Invoke(line);
}
