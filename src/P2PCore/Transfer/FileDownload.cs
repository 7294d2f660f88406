using System.Security.Cryptography;
using P2PTransfer.Client;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// Downloads one content from its sources into a partial file beside the destination: the piece list (checked
/// against the file's identity at the end), pieces fetched from every source in parallel and verified as they
/// arrive, the whole file's SHA-256 computed alongside, and only then the final name.
/// </summary>
internal sealed class FileDownload(DownloadItem item, SourcePool pool, DownloadOptions options, Bandwidth? bandwidth)
{
    private readonly System.Collections.Concurrent.ConcurrentBag<ProtocolError> _failureCodes = [];
    private Exception? _localFailure;
    private string _listSource = "?";
    private bool _listFromRecord;

    public async Task<FileInfo> RunAsync(CancellationToken cancellationToken)
    {
        var partial = item.Size is { } known ? PartialFile.TryResume(item.Destination, known, item.HashBytes) : null;
        if (partial is null)
        {
            var (size, pieceHashes) = await FetchPieceListAsync(cancellationToken).ConfigureAwait(false);
            // With the size known beforehand, the partial file was looked for already. (Free space was checked
            // with the list; a file of one piece is written in one go, and a full disk fails that write clearly.)
            partial = item.Size is null ? PartialFile.TryResume(item.Destination, size, item.HashBytes) : null;
            item.Size = size;
            partial ??= PartialFile.Create(item.Destination, size, item.HashBytes, pieceHashes);
        }
        else
        {
            _listFromRecord = true;
        }

        if (partial.VerifiedPieces > 0)
        {
            item.Resumed(partial.VerifiedBytes);
            Trace($"{item.Name}: resuming, {partial.VerifiedPieces} of {partial.PieceCount} piece(s) verified already");
        }

        // With one piece (or none) the piece's hash is the file's hash: its check on arrival is the whole-file check.
        using var hasher = partial.PieceCount > 1 ? new WholeFileHasher(partial) : null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var hashing = hasher is not null ? Task.Run(() => hasher.RunAsync(stop.Token), stop.Token) : Task.FromResult(partial.PieceCount == 0 ? Index.FileDigest.Empty.Sha256 : item.HashBytes);
        try
        {
            await FetchPiecesAsync(partial, hasher, stop.Token).ConfigureAwait(false);
            var whole = await hashing.ConfigureAwait(false);
            if (!whole.AsSpan().SequenceEqual(item.HashBytes))
            {
                partial.Abandon();
                throw new P2PException(ProtocolError.VerificationFailed, _listFromRecord
                    ? $"'{item.Name}': the file's SHA-256 is {Convert.ToHexString(whole)}, not {item.Hash}: the partial file from an earlier run did not hold what its record said; it was removed, and the next run starts afresh"
                    : $"'{item.Name}': every piece matched the piece list from {_listSource}, but the file's SHA-256 is {Convert.ToHexString(whole)}, not {item.Hash}: that piece list was false; the partial file was removed");
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

            if (partial.PieceCount <= 1)
            {
                // Nothing to resume within one piece: leave no partial file behind.
                partial.Abandon();
            }
            else
            {
                partial.Dispose();
            }

            throw;
        }
    }

    /// <summary>The file's size and piece hashes, from the first source that gives a list matching what is known.</summary>
    private async Task<(long Size, byte[] PieceHashes)> FetchPieceListAsync(CancellationToken cancellationToken)
    {
        if (item.Size is { } size && TransferLimits.PieceCount(size) == 1)
        {
            // One piece: its hash is the file's hash; nothing to ask.
            _listSource = "the search result";
            return (size, item.HashBytes);
        }

        // Sources are asked one at a time, including any that join meanwhile; a busy one is asked again later.
        var asked = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var busy = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        long? busySince = null;
        while (true)
        {
            long now = Environment.TickCount64;
            var source = item.Sources.FirstOrDefault(s => !asked.Contains(s) && !item.SourceFailures.ContainsKey(s)
                && (!busy.TryGetValue(s, out var at) || now - at >= TransferLimits.BusyRetryDelay.TotalMilliseconds));
            if (source is null)
            {
                if (busy.Count > 0 && now - busySince < TransferLimits.BusyGiveUpAfter.TotalMilliseconds)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                foreach (var stillBusy in busy.Keys)
                {
                    Fail(stillBusy, new NodeUnavailableException(ProtocolError.NodeBusy, $"still busy after {TransferLimits.BusyGiveUpAfter.TotalSeconds:0} s"));
                }

                throw NoSourceLeft("no source gave its piece list");
            }

            asked.Add(source);
            try
            {
                var result = await FetchPieceListFromAsync(source, cancellationToken).ConfigureAwait(false);
                _listSource = source;
                return result;
            }
            catch (NodeUnavailableException ex) when (ex.Code == ProtocolError.NodeBusy)
            {
                Trace($"{item.Name}: {source} is busy; asking again in {TransferLimits.BusyRetryDelay.TotalSeconds:0.#} s");
                asked.Remove(source);
                busy[source] = Environment.TickCount64;
                busySince ??= busy[source];
            }
            catch (P2PException ex) when (ex.Code == ProtocolError.InsufficientSpace)
            {
                throw;
            }
            catch (Exception ex) when (ex is P2PException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                busy.Remove(source);
                Fail(source, ex);
            }
        }
    }

    private async Task<(long Size, byte[] PieceHashes)> FetchPieceListFromAsync(string source, CancellationToken cancellationToken)
    {
        var client = await pool.GetAsync(source, cancellationToken).ConfigureAwait(false);
        var first = await WithinStallTimeoutAsync(client.GetPieceListAsync(item.HashBytes, 0, cancellationToken), client, source, cancellationToken).ConfigureAwait(false);
        long total = first.Size;
        if (item.Size is { } expected && expected != total)
        {
            throw new P2PException(ProtocolError.VerificationFailed, $"it reports {total:N0} bytes, the search said {expected:N0}");
        }

        if (total > TransferLimits.MaxFileSize)
        {
            throw new P2PException(ProtocolError.VerificationFailed, $"it reports {total:N0} bytes, more than the {TransferLimits.MaxFileSize:N0} a download may have");
        }

        // Before the rest of the list: a file that cannot fit is an error now, not after fetching its list.
        EnsureFreeSpace(total);

        int count = TransferLimits.PieceCount(total);
        var hashes = new byte[count * 32];
        int have = 0;
        for (var page = first; ;)
        {
            if (page.FirstPiece != have || page.Count == 0 && have < count || have + page.Count > count)
            {
                throw new P2PException(ProtocolError.VerificationFailed, $"its piece list does not fit a file of {total:N0} bytes");
            }

            page.Hashes.CopyTo(hashes, have * 32);
            have += page.Count;
            if (have == count)
            {
                break;
            }

            page = await WithinStallTimeoutAsync(client.GetPieceListAsync(item.HashBytes, have, cancellationToken), client, source, cancellationToken).ConfigureAwait(false);
        }

        if (count == 1 && !hashes.AsSpan().SequenceEqual(item.HashBytes))
        {
            throw new P2PException(ProtocolError.VerificationFailed, "its only piece hash is not the file's hash");
        }

        return (total, hashes);
    }

    private void EnsureFreeSpace(long size)
    {
        var folder = Path.GetDirectoryName(item.Destination)!;
        long free;
        try
        {
            free = new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // Unknown (some network or virtual file systems): the space reservation below still checks.
            return;
        }

        if (free < size)
        {
            throw new P2PException(ProtocolError.InsufficientSpace, $"not enough free space for '{item.Name}': it needs {size:N0} bytes and {folder} has {free:N0} free");
        }
    }

    /// <summary>Runs one worker per source (up to MaxSources, more as sources join or fail) until every piece is verified.</summary>
    private async Task FetchPiecesAsync(PartialFile partial, WholeFileHasher? hasher, CancellationToken cancellationToken)
    {
        var scheduler = new PieceScheduler(partial.PieceCount, partial.IsVerified);
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

                    if (!workers.ContainsKey(source) && !item.SourceFailures.ContainsKey(source))
                    {
                        workers[source] = RunSourceAsync(source, partial, scheduler, hasher, done.Token);
                    }
                }

                if (Volatile.Read(ref _localFailure) is { } local)
                {
                    throw local;
                }

                var running = workers.Where(w => !ended.Contains(w.Key)).Select(w => w.Value).ToList();
                if (running.Count == 0)
                {
                    throw NoSourceLeft($"{partial.VerifiedPieces} of {partial.PieceCount} piece(s) verified");
                }

                // Wake when a worker ends or now and then, to take in sources that joined.
                await Task.WhenAny(running.Append(Task.Delay(250, cancellationToken))).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var (source, worker) in workers)
                {
                    if (worker.IsCompleted)
                    {
                        ended.Add(source);
                    }
                }

                if (ended.Count == workers.Count && !scheduler.AllVerified && item.Sources.All(s => workers.ContainsKey(s) || item.SourceFailures.ContainsKey(s)))
                {
                    // Every source ended: those that did not fail (they found nothing left to fetch) may try again.
                    foreach (var source in ended.Where(s => !item.SourceFailures.ContainsKey(s)).ToList())
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

    /// <summary>
    /// Fetches pieces from one source, keeping a few requested ahead, verifying each on arrival. Returns when there
    /// is nothing left for it; a failure, a stall or bad data drops the source (its pieces go to the others).
    /// Never throws: what went wrong is recorded in the item.
    /// </summary>
    private async Task RunSourceAsync(string source, PartialFile partial, PieceScheduler scheduler, WholeFileHasher? hasher, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var queue = new Queue<(int Piece, Task<PieceData> Data)>();
        NodeClient? client = null;
        var busySince = (long?)null;
        item.SourceActive(1);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    client ??= await pool.GetAsync(source, cancellationToken).ConfigureAwait(false);
                    while (queue.Count < TransferLimits.PiecesInFlightPerSource
                        && await NextPieceAsync(scheduler, idle: queue.Count == 0, partial.Size, cancellationToken).ConfigureAwait(false) is var next && next >= 0)
                    {
                        queue.Enqueue((next, client.GetPieceAsync(item.HashBytes, next, cancellationToken)));
                    }

                    if (queue.Count == 0)
                    {
                        return;
                    }

                    var (piece, request) = queue.Peek();
                    var data = await WithinStallTimeoutAsync(request, client, source, cancellationToken).ConfigureAwait(false);
                    queue.Dequeue();
                    await AcceptAsync(source, piece, data, partial, scheduler, hasher, cancellationToken).ConfigureAwait(false);
                    busySince = null;
                }
                catch (NodeUnavailableException ex) when (ex.Code == ProtocolError.NodeBusy)
                {
                    // 'Busy' is not a failure: give the pieces back, try this source again a little later.
                    GiveBack(queue, scheduler);
                    busySince ??= Environment.TickCount64;
                    if (Environment.TickCount64 - busySince > TransferLimits.BusyGiveUpAfter.TotalMilliseconds)
                    {
                        throw;
                    }

                    Trace($"{item.Name}: {source} is busy; trying again in {TransferLimits.BusyRetryDelay.TotalSeconds:0.#} s");
                    await Task.Delay(TransferLimits.BusyRetryDelay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is P2PException { Code: ProtocolError.InsufficientSpace } || (ex is IOException && !IsFromSource(ex)))
        {
            // This machine's disk failed: no other source can help.
            Interlocked.CompareExchange(ref _localFailure, ex, null);
        }
        catch (Exception ex) when (ex is P2PException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            Fail(source, ex);
            if (ex is P2PException { Code: ProtocolError.Timeout } && client is not null)
            {
                await pool.DropAsync(source, client).ConfigureAwait(false);
            }
        }
        finally
        {
            item.SourceActive(-1);
            GiveBack(queue, scheduler);
        }
    }

    /// <summary>
    /// The next piece for a source to request, or -1 for none now. With -MaxBytesPerSecond it is paid for first: a
    /// source with nothing under way waits for its turn at the budget; one with pieces under way gets one more only
    /// if the budget allows it at once (it takes what it requested meanwhile, so nothing that arrived waits on the limit).
    /// </summary>
    private async ValueTask<int> NextPieceAsync(PieceScheduler scheduler, bool idle, long size, CancellationToken cancellationToken)
    {
        if (bandwidth is null)
        {
            return scheduler.Next(idle);
        }

        if (idle)
        {
            using var turn = await bandwidth.WaitTurnAsync(cancellationToken).ConfigureAwait(false);
            int piece = scheduler.Next(idle: true);
            if (piece >= 0)
            {
                turn.Take(TransferLimits.PieceLength(size, piece));
            }

            return piece;
        }

        int next = scheduler.Next(idle: false);
        if (next >= 0 && !bandwidth.TryTake(TransferLimits.PieceLength(size, next)))
        {
            scheduler.Release(next);
            return -1;
        }

        return next;
    }

    private async Task AcceptAsync(string source, int piece, PieceData data, PartialFile partial, PieceScheduler scheduler, WholeFileHasher? hasher, CancellationToken cancellationToken)
    {
        bool kept = false;
        try
        {
            int expected = TransferLimits.PieceLength(partial.Size, piece);
            if (data.Length != expected || !MatchesItsHash(partial, piece, data))
            {
                scheduler.Release(piece);
                throw new P2PException(ProtocolError.VerificationFailed, $"{source} sent bad data for piece {piece} of '{item.Name}' (it does not match the piece's hash); that source is no longer used for it");
            }

            bool written;
            try
            {
                written = await partial.WritePieceAsync(piece, data.Data, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                scheduler.Release(piece);
                throw;
            }

            scheduler.Verified(piece);
            if (written)
            {
                item.Verified(expected);
                kept = hasher?.Offer(piece, data) ?? false;
            }
        }
        finally
        {
            if (!kept)
            {
                data.Release();
            }
        }
    }

    private static bool MatchesItsHash(PartialFile partial, int piece, PieceData data)
    {
        Span<byte> actual = stackalloc byte[32];
        return SHA256.TryHashData(data.Data.Span, actual, out _) && actual.SequenceEqual(partial.PieceHash(piece));
    }

    /// <summary>
    /// Waits for an answer while the source keeps delivering: answers to transfer requests, or bytes of a piece still
    /// on its way. One that delivers nothing for the stall timeout is given up on, even if it answers keep-alive pings.
    /// </summary>
    private async Task<T> WithinStallTimeoutAsync<T>(Task<T> request, NodeClient client, string source, CancellationToken cancellationToken)
    {
        const int LookEvery = 1000;
        long waitingSince = Environment.TickCount64;
        long lookedAt = waitingSince;
        while (true)
        {
            try
            {
                return await request.WaitAsync(TimeSpan.FromMilliseconds(LookEvery), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                long now = Environment.TickCount64;
                long delivered = Math.Max(waitingSince, Math.Max(client.LastTransferAnswer, client.Connection.LastLargeFrameProgress));
                bool late = now - lookedAt > 2 * LookEvery;
                lookedAt = now;
                // A look that comes a second late means this side stalled (a busy machine, a suspended laptop): the
                // connection's reader did not run either, so bytes that came meanwhile are not counted yet. Such a
                // look does not judge the source, up to three stall timeouts.
                if (late && now - delivered < 3 * options.StallTimeout.TotalMilliseconds)
                {
                    continue;
                }

                if (now - delivered > options.StallTimeout.TotalMilliseconds)
                {
                    // Whatever arrives later is not needed.
                    Discard(request);
                    throw new P2PException(ProtocolError.Timeout, $"{source} delivered nothing for {options.StallTimeout.TotalSeconds:0.#} s");
                }
            }
        }
    }

    private static void GiveBack(Queue<(int Piece, Task<PieceData> Data)> queue, PieceScheduler scheduler)
    {
        while (queue.TryDequeue(out var pending))
        {
            scheduler.Release(pending.Piece);
            // Whatever still arrives for these requests is not needed.
            Discard(pending.Data);
        }
    }

    /// <summary>An answer nobody waits for any more: its piece buffer goes back to the pool, its failure is observed.</summary>
    private static void Discard<T>(Task<T> request) =>
        request.ContinueWith(
            static t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    (t.Result as PieceData)?.Release();
                }
                else
                {
                    _ = t.Exception;
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>Socket failures come wrapped as P2PException; a bare IOException is this machine's file system.</summary>
    private static bool IsFromSource(Exception ex) => ex.InnerException is System.Net.Sockets.SocketException;

    private void Fail(string source, Exception reason)
    {
        _failureCodes.Add(reason is P2PException p2p ? p2p.Code : ProtocolError.ConnectionLost);
        item.SourceFailed(source, reason.Message);
        Trace($"{item.Name}: dropped source {source}: {reason.Message}");
    }

    private P2PException NoSourceLeft(string state)
    {
        var reasons = string.Join("; ", item.SourceFailures.Select(f => $"{f.Key}: {f.Value}"));
        // One reason shared by every source (the file is unknown everywhere, every copy is bad) is the error's code.
        var codes = _failureCodes.Distinct().ToList();
        var code = codes.Count == 1 ? codes[0] : codes.Contains(ProtocolError.VerificationFailed) ? ProtocolError.VerificationFailed : ProtocolError.ConnectionLost;
        return new P2PException(code, $"'{item.Name}' could not be downloaded ({state}); every source failed: {reasons}");
    }

    private void Trace(string line) => options.Trace?.Invoke(line);

}
