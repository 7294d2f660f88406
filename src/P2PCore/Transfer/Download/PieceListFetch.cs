using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// Fetches a file's size and piece hashes from the first source that gives a list matching what is known, asking
/// the sources one at a time (including any that join meanwhile); a busy one is asked again later.
/// </summary>
internal sealed class PieceListFetch(DownloadItem item, SourcePool pool, SourceHealth health, Action<string>? trace)
{
    /// <summary>The size, the piece hashes, and where they came from (for the message when the list proves false).</summary>
    public async Task<(long Size, byte[] PieceHashes, string Source)> FetchAsync(CancellationToken cancellationToken)
    {
        if (item.Size is { } size && TransferLimits.PieceCount(size) == 1)
        {
            // One piece: its hash is the file's hash; nothing to ask.
            return (size, item.HashBytes, "the search result");
        }

        var asked = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (true)
        {
            long now = Environment.TickCount64;
            var source = item.Sources.FirstOrDefault(s => !asked.Contains(s) && !health.IsDropped(s) && !health.IsBenched(s, now));
            if (source is null)
            {
                if (health.WorthWaitingForBusy(now))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                health.DropStillBusy();
                throw health.NoSourceLeft("no source gave its piece list");
            }

            asked.Add(source);
            try
            {
                var (total, hashes) = await FetchFromAsync(source, cancellationToken).ConfigureAwait(false);
                health.ForgetBusy();
                return (total, hashes, source);
            }
            catch (NodeUnavailableException ex) when (ex.Code == ProtocolError.NodeBusy)
            {
                trace?.Invoke($"{item.Name}: {source} is busy; asking again in {TransferLimits.BusyRetryDelay.TotalSeconds:0.#} s");
                asked.Remove(source);
                health.Busy(source, Environment.TickCount64);
            }
            catch (P2PException ex) when (ex.Code == ProtocolError.InsufficientSpace)
            {
                throw;
            }
            catch (Exception ex) when (ex is P2PException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                health.Drop(source, ex);
            }
        }
    }

    private async Task<(long Size, byte[] PieceHashes)> FetchFromAsync(string source, CancellationToken cancellationToken)
    {
        var client = await pool.GetAsync(source, cancellationToken).ConfigureAwait(false);
        var first = await health.WithinStallTimeoutAsync(client.GetPieceListAsync(item.HashBytes, 0, cancellationToken), client, source, cancellationToken).ConfigureAwait(false);
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

            page = await health.WithinStallTimeoutAsync(client.GetPieceListAsync(item.HashBytes, have, cancellationToken), client, source, cancellationToken).ConfigureAwait(false);
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
}
