using P2PTransfer.Client;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Transfer;

/// <summary>
/// One source's request pipeline: keeps a few pieces requested ahead, takes each answer in order and hands it to
/// <see cref="PieceAcceptance"/>. A 'busy' answer gives its pieces back and waits as <see cref="SourceHealth"/> says;
/// a failure, a stall or bad data drops the source (its pieces go to the others).
/// </summary>
internal sealed class SourceWorker(
    DownloadItem item,
    SourcePool pool,
    SourceHealth health,
    PiecePacing pacing,
    PieceScheduler scheduler,
    PieceAcceptance acceptance,
    Action<Exception> localFailure,
    Action<string>? trace)
{
    /// <summary>
    /// Fetches pieces from <paramref name="source"/> until there is nothing left for it. Never throws: a source's
    /// failure is recorded in <paramref name="source"/>'s health, a failure of this machine's disk goes to the
    /// local-failure callback.
    /// </summary>
    public async Task RunAsync(string source, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var queue = new Queue<(int Piece, Task<PieceData> Data)>();
        NodeClient? client = null;
        health.Delivered(source);
        item.SourceActive(1);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    client ??= await pool.GetAsync(source, cancellationToken).ConfigureAwait(false);
                    while (queue.Count < TransferLimits.PiecesInFlightPerSource
                        && await pacing.NextAsync(idle: queue.Count == 0, cancellationToken).ConfigureAwait(false) is var next && next >= 0)
                    {
                        queue.Enqueue((next, client.GetPieceAsync(item.HashBytes, next, cancellationToken)));
                    }

                    if (queue.Count == 0)
                    {
                        return;
                    }

                    var (piece, request) = queue.Peek();
                    var data = await health.WithinStallTimeoutAsync(request, client, source, cancellationToken).ConfigureAwait(false);
                    queue.Dequeue();
                    await acceptance.AcceptAsync(source, piece, data, cancellationToken).ConfigureAwait(false);
                    health.Delivered(source);
                }
                catch (NodeUnavailableException ex) when (ex.Code == ProtocolError.NodeBusy)
                {
                    GiveBack(queue);
                    if (!health.Busy(source, Environment.TickCount64))
                    {
                        throw;
                    }

                    trace?.Invoke($"{item.Name}: {source} is busy; trying again in {TransferLimits.BusyRetryDelay.TotalSeconds:0.#} s");
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
            localFailure(ex);
        }
        catch (Exception ex) when (ex is P2PException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            health.Drop(source, ex);
            if (ex is P2PException { Code: ProtocolError.Timeout } && client is not null)
            {
                await pool.DropAsync(source, client).ConfigureAwait(false);
            }
        }
        finally
        {
            item.SourceActive(-1);
            GiveBack(queue);
        }
    }

    /// <summary>Socket failures come wrapped as P2PException; a bare IOException is this machine's file system.</summary>
    private static bool IsFromSource(Exception ex) => ex.InnerException is System.Net.Sockets.SocketException;

    private void GiveBack(Queue<(int Piece, Task<PieceData> Data)> queue)
    {
        while (queue.TryDequeue(out var pending))
        {
            scheduler.Release(pending.Piece);
            // Whatever still arrives for these requests is not needed.
            AbandonedRequest.Discard(pending.Data);
        }
    }
}
