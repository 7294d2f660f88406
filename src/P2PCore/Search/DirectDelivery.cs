using System.Net;
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
/// <remarks>
/// A peer must not be able to make this node dial whatever it likes (reflection): an entry server is dialed only
/// when its request carried its signature over the request id and its endpoint, made with the key its node id
/// hashes to (<paramref name="entryOf"/>); only at an IP-literal endpoint (a peer's host name is never looked up);
/// at most <see cref="SearchLimits.DirectDialBurst"/> dials at once and <see cref="SearchLimits.DirectDialsPerMinute"/>
/// a minute per destination address; and a destination whose dial failed, or answered as another node, rests for a
/// growing time.
/// </remarks>
internal sealed class DirectDelivery(
    Hello identity,
    IConnectionDialer dialer,
    Func<Guid, (RouteHop Entry, KeyProof? Proof)?> entryOf,
    SignatureVerifier verifier,
    NodeLog log,
    SearchCounters counters,
    TimeProvider? clock = null)
{
    private const int QueueCapacity = 1024;
    private const int MaxBatch = 256;
    private const int MaxConcurrentDeliveries = 16;
    private static readonly TimeSpan DialTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Name lookup, connect, handshake and sending, all together.</summary>
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(4);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly object _gate = new();
    private readonly ExpiringMap<IPAddress, Destination> _destinations = new(SearchLimits.DirectDestinationsRemembered, SearchLimits.MaxDirectDialBackoff * 2, clock);
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
                    var hits = Dialable(group.Key, group);
                    if (hits is null)
                    {
                        continue;
                    }

                    running.RemoveAll(t => t.IsCompleted);
                    if (running.Count >= MaxConcurrentDeliveries)
                    {
                        await Task.WhenAny(running).ConfigureAwait(false);
                        running.RemoveAll(t => t.IsCompleted);
                    }

                    running.Add(DeliverAsync(group.Key, hits, stopping));
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

    /// <summary>
    /// The responses this node may dial <paramref name="entry"/> for, with a dial taken from its destination's rate;
    /// null (counted) when none: a host name, no verified request of that entry, over the rate, or resting.
    /// </summary>
    private List<QueryHit>? Dialable(RouteHop entry, IEnumerable<QueryHit> group)
    {
        var all = group.ToList();

        // One check per request, however many of its responses wait.
        var verified = all.Select(h => h.RequestId).Distinct().Where(id => HasVerifiedEntry(id, entry)).ToHashSet();
        var hits = all.Where(h => verified.Contains(h.RequestId)).ToList();
        string? refusal = null;
        IPAddress? address = null;
        if (hits.Count == 0)
        {
            refusal = "its request carried no valid signature of that entry server";
        }
        else if (!IsAddressLiteral(entry.Endpoint, out address))
        {
            refusal = "its endpoint is a host name, which a node never looks up for a peer";
        }
        else
        {
            refusal = TakeDial(address);
        }

        if (refusal is null)
        {
            for (int i = hits.Count; i < all.Count; i++)
            {
                counters.DirectDeliveryFailed();
            }

            return hits;
        }

        counters.DirectDialRefused();
        for (int i = 0; i < all.Count; i++)
        {
            counters.DirectDeliveryFailed();
        }

        log.Write(NodeLogLevel.Verbose, $"not dialing {entry.Endpoint} to deliver {all.Count} response(s) directly: {refusal}");
        return null;
    }

    private bool HasVerifiedEntry(Guid requestId, RouteHop entry)
    {
        // Checked only now that a dial would follow: most requests never need it.
        return entryOf(requestId) is { } known && known.Entry == entry && known.Proof is { } proof
            && verifier.Verify(entry.NodeId, proof, SignedData.Entry(requestId, entry));
    }

    /// <summary>True for an endpoint whose host is an IP address (no name to look up); the address, normalised, names the destination.</summary>
    internal static bool IsAddressLiteral(string endpoint, out IPAddress address)
    {
        address = IPAddress.None;
        try
        {
            var (host, _) = NetworkAddress.Parse(endpoint, ProtocolLimits.DefaultPort);
            if (!IPAddress.TryParse(host, out var parsed))
            {
                return false;
            }

            address = parsed.IsIPv4MappedToIPv6 ? parsed.MapToIPv4() : parsed;
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Takes a dial from the destination's rate; why not, when it may not be dialed now.</summary>
    private string? TakeDial(IPAddress address)
    {
        lock (_gate)
        {
            if (!_destinations.TryGetValue(address, out var destination))
            {
                destination = new Destination(new RateLimit(SearchLimits.DirectDialsPerMinute / 60.0, SearchLimits.DirectDialBurst, _clock));
                _destinations.TryAdd(address, destination, out _);
            }

            long now = ClockMilliseconds.Now(_clock);
            if (now < destination.RestUntil)
            {
                return $"its last dial failed; it rests for {(destination.RestUntil - now) / 1000.0:0} s more";
            }

            return destination.Rate.TryTake() ? null : $"over the rate of {SearchLimits.DirectDialsPerMinute} dials a minute per address";
        }
    }

    /// <summary>A dial to <paramref name="endpoint"/> failed or met another node: the destination rests, twice as long as the last time.</summary>
    private void Rest(string endpoint, bool failed)
    {
        if (!IsAddressLiteral(endpoint, out var address))
        {
            return;
        }

        lock (_gate)
        {
            if (!_destinations.TryGetValue(address, out var destination))
            {
                return;
            }

            if (!failed)
            {
                destination.Backoff = TimeSpan.Zero;
                return;
            }

            destination.Backoff = destination.Backoff == TimeSpan.Zero
                ? SearchLimits.DirectDialBackoff
                : TimeSpan.FromTicks(Math.Min(destination.Backoff.Ticks * 2, SearchLimits.MaxDirectDialBackoff.Ticks));
            destination.RestUntil = ClockMilliseconds.Now(_clock) + (long)destination.Backoff.TotalMilliseconds;
        }
    }

    private async Task DeliverAsync(RouteHop entry, IReadOnlyList<QueryHit> hits, CancellationToken stopping)
    {
        bool reached = false;
        FrameConnection? connection = null;
        int sent = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(DeliveryTimeout);
        try
        {
            (connection, var welcome) = await Handshake.DialAsync(dialer, entry.Endpoint, ProtocolLimits.DefaultPort, identity, DialTimeout, deadline.Token, expectedId: entry.NodeId).ConfigureAwait(false);
            if (welcome.NodeId != entry.NodeId)
            {
                throw new P2PException(ProtocolError.ConnectionLost, $"{entry.Endpoint} is node {welcome.Name} now, not the entry server of the search");
            }

            reached = true;

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
            Rest(entry.Endpoint, failed: !reached);
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>What this node remembers of a destination address: its dial rate and how long it rests after a failure.</summary>
    private sealed class Destination(RateLimit rate)
    {
        public RateLimit Rate { get; } = rate;

        public TimeSpan Backoff { get; set; }

        public long RestUntil { get; set; }
    }
}
