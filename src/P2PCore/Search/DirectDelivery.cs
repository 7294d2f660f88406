using System.Threading.Channels;
using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>
/// The seed's improvement for broken routes: a response whose way back is gone is sent straight to the entry
/// server's advertised endpoint, over a client connection of its own; the entry server drops duplicates.
/// Bounded queue; one loop hands each entry server's responses to a delivery of its own (at most 16 at once).
/// </summary>
internal sealed class DirectDelivery(Hello identity, IConnectionDialer dialer, NodeLog log, SearchCounters counters)
{
    private const int QueueCapacity = 1024;
    private const int MaxBatch = 256;
    private const int MaxConcurrentDeliveries = 16;
    private static readonly TimeSpan DialTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Name lookup, connect, handshake and sending, all together.</summary>
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(4);

    private readonly Channel<QueryHit> _queue = Channel.CreateBounded<QueryHit>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true });

    /// <summary>Queues a response for its entry server (<c>Backtrace[0]</c>); false (counted) when the queue is full.</summary>
    public bool TryQueue(QueryHit hit)
    {
        if (_queue.Writer.TryWrite(hit with { Remaining = 1 }))
        {
            return true;
        }

        counters.DirectDeliveryFailed();
        return false;
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        // Each entry server's delivery runs on its own, so one slow or hostile endpoint cannot hold up the others.
        var running = new List<Task>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                var batch = new List<QueryHit>(MaxBatch);
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var hit))
                {
                    batch.Add(hit);
                }

                foreach (var group in batch.GroupBy(h => h.Backtrace.Entry))
                {
                    running.RemoveAll(t => t.IsCompleted);
                    if (running.Count >= MaxConcurrentDeliveries)
                    {
                        await Task.WhenAny(running).ConfigureAwait(false);
                        running.RemoveAll(t => t.IsCompleted);
                    }

                    running.Add(DeliverAsync(group.Key, [.. group], stopping));
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            // Each delivery is bounded in time and catches its own failures.
            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    private async Task DeliverAsync(RouteHop entry, IReadOnlyList<QueryHit> hits, CancellationToken stopping)
    {
        FrameConnection? connection = null;
        int sent = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(DeliveryTimeout);
        try
        {
            (connection, var welcome) = await Handshake.DialAsync(dialer, entry.Endpoint, ProtocolLimits.DefaultPort, identity, DialTimeout, deadline.Token).ConfigureAwait(false);
            if (welcome.NodeId != entry.NodeId)
            {
                throw new P2PException(ProtocolError.ConnectionLost, $"{entry.Endpoint} is node {welcome.Name} now, not the entry server of the search");
            }

            foreach (var hit in hits)
            {
                await connection.SendAsync(hit, deadline.Token).ConfigureAwait(false);
                counters.DirectDelivery();
                sent++;
            }

            log.Write(NodeLogLevel.Verbose, $"delivered {hits.Count} response(s) directly to entry server {welcome.Name} ({entry.Endpoint})");
            await connection.CloseAsync(Bye.Create(ProtocolError.None, "responses delivered")).ConfigureAwait(false);
            connection = null;
        }
        catch (Exception ex)
        {
            // Whatever one delivery meets (an unreachable, slow or malformed endpoint included), the loop goes on.
            for (int i = sent; i < hits.Count; i++)
            {
                counters.DirectDeliveryFailed();
            }

            log.Write(NodeLogLevel.Verbose, $"could not deliver {hits.Count - sent} response(s) directly to {entry.Endpoint}: {ex.Message}");
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
