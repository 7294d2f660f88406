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
/// never at an address this node knows as another node's (<paramref name="nodesAt"/>: a live link, or a host it
/// linked to); at most <see cref="SearchLimits.DirectDialBurst"/> dials at once and <see cref="SearchLimits.DirectDialsPerMinute"/>
/// a minute per destination address; a destination whose dial failed, or answered as another node, rests for a
/// growing time; and so does the address the request came from, which gets no direct delivery meanwhile, so one
/// host cannot make the node dial a fresh address per request.
/// </remarks>
internal sealed class DirectDelivery(
    Hello identity,
    IConnectionDialer dialer,
    Func<Guid, (RouteHop Entry, KeyProof? Proof, string? Requester)?> entryOf,
    Func<IPAddress, IEnumerable<Guid>> nodesAt,
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
    private readonly ExpiringMap<string, Rest> _requesters = new(SearchLimits.DirectDestinationsRemembered, SearchLimits.MaxDirectDialBackoff * 2, clock);
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
                    if (Dialable(group.Key, group) is not { } dialable)
                    {
                        continue;
                    }

                    running.RemoveAll(t => t.IsCompleted);
                    if (running.Count >= MaxConcurrentDeliveries)
                    {
                        await Task.WhenAny(running).ConfigureAwait(false);
                        running.RemoveAll(t => t.IsCompleted);
                    }

                    running.Add(DeliverAsync(group.Key, dialable.Hits, dialable.Requesters, stopping));
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
    /// The responses this node may dial <paramref name="entry"/> for, and the addresses their requests came from, with
    /// a dial taken from its destination's rate; null (counted) when none: no verified request of that entry, only
    /// requests from resting addresses, a host name, another node's address, over the rate, or resting.
    /// </summary>
    private (List<QueryHit> Hits, HashSet<string> Requesters)? Dialable(RouteHop entry, IEnumerable<QueryHit> group)
    {
        var all = group.ToList();

        // One check per request, however many of its responses wait.
        var requests = all.Select(h => h.RequestId).Distinct().Select(id => (Id: id, Requester: VerifiedRequester(id, entry))).Where(r => r.Requester is not null).ToList();
        var allowed = requests.Where(r => !IsResting(r.Requester!)).ToDictionary(r => r.Id, r => r.Requester!);
        var hits = all.Where(h => allowed.ContainsKey(h.RequestId)).ToList();
        string? refusal = null;
        IPAddress? address = null;
        if (requests.Count == 0)
        {
            refusal = "its request carried no valid signature of that entry server";
        }
        else if (hits.Count == 0)
        {
            refusal = $"a delivery dial for requests from {string.Join(", ", requests.Select(r => r.Requester).Distinct())} failed lately, and that address gets none for a while";
        }
        else if (!IsAddressLiteral(entry.Endpoint, out address))
        {
            refusal = "its endpoint is a host name, which a node never looks up for a peer";
        }
        else if (nodesAt(address).FirstOrDefault(id => id != entry.NodeId) is var other && other != Guid.Empty)
        {
            refusal = $"that address is node {other}'s, which this node links or linked to";
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

            return (hits, [.. allowed.Values]);
        }

        counters.DirectDialRefused();
        for (int i = 0; i < all.Count; i++)
        {
            counters.DirectDeliveryFailed();
        }

        log.Write(NodeLogLevel.Verbose, $"not dialing {entry.Endpoint} to deliver {all.Count} response(s) directly: {refusal}");
        return null;
    }

    /// <summary>The address a request came from (empty for this node's own), when it carried a valid signature of <paramref name="entry"/>; else null.</summary>
    private string? VerifiedRequester(Guid requestId, RouteHop entry)
    {
        // Checked only now that a dial would follow: most requests never need it.
        return entryOf(requestId) is { } known && known.Entry == entry && known.Proof is { } proof
            && verifier.Verify(entry.NodeId, proof, SignedData.Entry(requestId, entry))
            ? known.Requester ?? ""
            : null;
    }

    private bool IsResting(string requester)
    {
        lock (_gate)
        {
            return requester.Length > 0 && _requesters.TryGetValue(requester, out var rest) && ClockMilliseconds.Now(_clock) < rest.Until;
        }
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
            if (now < destination.Rest.Until)
            {
                return $"its last dial failed; it rests for {(destination.Rest.Until - now) / 1000.0:0} s more";
            }

            return destination.Rate.TryTake() ? null : $"over the rate of {SearchLimits.DirectDialsPerMinute} dials a minute per address";
        }
    }

    /// <summary>
    /// A dial to <paramref name="endpoint"/> failed or met another node: the destination rests, and so do the addresses
    /// the requests came from (they lose direct delivery), twice as long as their last time. One that succeeded ends
    /// the destination's rest.
    /// </summary>
    private void AfterDial(string endpoint, IEnumerable<string> requesters, bool failed)
    {
        lock (_gate)
        {
            if (IsAddressLiteral(endpoint, out var address) && _destinations.TryGetValue(address, out var destination))
            {
                destination.Rest.After(failed, _clock);
            }

            if (!failed)
            {
                return;
            }

            foreach (var requester in requesters.Where(r => r.Length > 0))
            {
                if (!_requesters.TryGetValue(requester, out var rest))
                {
                    rest = new Rest();
                    _requesters.TryAdd(requester, rest, out _);
                }

                rest.After(failed: true, _clock);
            }
        }
    }

    private async Task DeliverAsync(RouteHop entry, IReadOnlyList<QueryHit> hits, IEnumerable<string> requesters, CancellationToken stopping)
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
            AfterDial(entry.Endpoint, requesters, failed: !reached);
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

        public Rest Rest { get; } = new();
    }

    /// <summary>How long an address rests after a failed dial: 1 min, doubling with each failure up to 1 h.</summary>
    private sealed class Rest
    {
        private TimeSpan _backoff;

        /// <summary>Milliseconds (<see cref="ClockMilliseconds"/>) until which it rests.</summary>
        public long Until { get; private set; }

        public void After(bool failed, TimeProvider clock)
        {
            if (!failed)
            {
                _backoff = TimeSpan.Zero;
                return;
            }

            _backoff = _backoff == TimeSpan.Zero
                ? SearchLimits.DirectDialBackoff
                : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, SearchLimits.MaxDirectDialBackoff.Ticks));
            Until = ClockMilliseconds.Now(clock) + (long)_backoff.TotalMilliseconds;
        }
    }
}
