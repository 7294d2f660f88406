using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using P2PTransfer.Identity;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>
/// Direct delivery cannot be turned on a third party (reflection): a node dials only an entry server that signed its
/// request, only at an IP address, and only a few times a minute per address.
/// </summary>
public class DirectDeliveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>A listener on a loopback address that counts the connections made to it and closes them.</summary>
    private sealed class AcceptCounter : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private int _accepted;

        public AcceptCounter(string address)
        {
            _listener = new TcpListener(IPAddress.Parse(address), 0);
            _listener.Start();
            Endpoint = $"{address}:{((IPEndPoint)_listener.LocalEndpoint).Port}";
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptLoopAsync();
        }

        public string Endpoint { get; }

        public int Port { get; }

        public int Accepted => Volatile.Read(ref _accepted);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>
    /// A hostile peer sends <paramref name="node"/> a request naming <paramref name="entry"/> as its entry server, reads
    /// the node's answer, then breaks its link: the node then delivers that answer directly (or decides not to).
    /// </summary>
    private static async Task ForgeAndBreakAsync(P2PNode node, RouteHop entry, Func<Guid, KeyProof> proof)
    {
        var key = RawConnection.NewKey();
        var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(key.Id));
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, Wait));
        var requestId = Guid.NewGuid();
        await raw.SendAsync(new Query(requestId, 0, 10, new BacktraceStack([entry, new RouteHop(key.Id, "127.0.0.1:1")]), proof(requestId), new FileQuery()));
        QueryHit? hit = null;
        for (int count = 1; count <= 20 && hit is null; count++)
        {
            hit = (await raw.ReadFramesAsync(count, Wait)).OfType<QueryHit>().FirstOrDefault();
        }

        Assert.NotNull(hit);
        raw.Abort();
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 0, Wait));
    }

    [Fact]
    public async Task A_forged_request_naming_a_victim_as_its_entry_server_makes_no_dial_to_the_victim_when_its_route_breaks()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        using var victim = new AcceptCounter("127.0.0.9");

        await ForgeAndBreakAsync(node, new RouteHop(Guid.NewGuid(), victim.Endpoint), _ => Signing.NoProof);
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.DirectDeliveryFailures == 1, Wait));

        Assert.Equal(0, victim.Accepted);
        Assert.Equal(1, node.SearchCounters.DirectDialsRefused);
        Assert.Equal(0, node.SearchCounters.DirectDeliveries);
    }

    [Fact]
    public async Task An_entry_server_named_by_a_host_name_gets_no_dial_even_with_a_valid_signature()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        using var victim = new AcceptCounter("127.0.0.1");
        var entryKey = RawConnection.NewKey();
        var entry = new RouteHop(entryKey.Id, $"localhost:{victim.Port}");

        await ForgeAndBreakAsync(node, entry, requestId => Signing.Entry(entryKey, entry.Endpoint, requestId));
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.DirectDeliveryFailures == 1, Wait));

        Assert.Equal(0, victim.Accepted);
        Assert.Equal(1, node.SearchCounters.DirectDialsRefused);
    }

    /// <summary>
    /// Over <paramref name="raw"/>'s link to <paramref name="node"/>: a request naming <paramref name="entry"/>, then a
    /// response to it that <paramref name="node"/> must pass on to the entry server, to which it has no link: it is
    /// delivered directly, or not. Returns once the node has dealt with it.
    /// </summary>
    private static async Task RequestAndRouteAsync(RawConnection raw, Guid rawId, P2PNode node, RouteHop entry, Func<Guid, KeyProof> proof)
    {
        long handled = node.SearchCounters.DirectDeliveries + node.SearchCounters.DirectDeliveryFailures;
        long processed = node.SearchCounters.RequestsProcessed;
        var requestId = Guid.NewGuid();
        var rawHop = new RouteHop(rawId, "127.0.0.1:1");
        await raw.SendAsync(new Query(requestId, 0, 10, new BacktraceStack([entry, rawHop]), proof(requestId), new FileQuery { Names = ["nothing-matches"] }));
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.RequestsProcessed == processed + 1, Wait));
        FoundFile[] files = [new("x", 1, new string('0', 64), "pub/x")];
        await raw.SendAsync(new QueryHit(requestId, 0, 2, new BacktraceStack([entry, new RouteHop(node.Id, node.Endpoint), rawHop]), Signing.Unsigned(rawId, "raw", "127.0.0.1:1"), files));
        Assert.True(await Eventually.TrueAsync(() => node.SearchCounters.DirectDeliveries + node.SearchCounters.DirectDeliveryFailures == handled + 1, Wait));
    }

    [Fact]
    public async Task Direct_delivery_dials_one_address_no_more_than_its_burst_and_then_its_rate()
    {
        await using var nodes = new TestNodes();
        var started = await SearchNetwork.StartAsync(nodes, 2);
        var (node, entryNode) = (started[0], started[1]);
        using var entryKey = NodeKey.LoadOrCreate(entryNode.StateDirectory);
        Assert.Equal(entryNode.Id, entryKey.Id);
        var entry = new RouteHop(entryNode.Id, entryNode.Endpoint);
        var rawKey = RawConnection.NewKey();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawKey.Id));
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, Wait));
        var clock = Stopwatch.StartNew();

        const int Responses = 10;
        for (int i = 0; i < Responses; i++)
        {
            await RequestAndRouteAsync(raw, rawKey.Id, node, entry, requestId => Signing.Entry(entryKey, entry.Endpoint, requestId));
        }

        // Every dial was a delivery the entry server took; the rest were refused without a dial.
        long refilled = (long)Math.Floor(clock.Elapsed.TotalMinutes * SearchLimits.DirectDialsPerMinute);
        long dials = entryNode.Counters.ConnectionsAccepted;
        Assert.Equal(dials, node.SearchCounters.DirectDeliveries);
        Assert.InRange(dials, SearchLimits.DirectDialBurst, SearchLimits.DirectDialBurst + refilled);
        Assert.Equal(Responses - dials, node.SearchCounters.DirectDialsRefused);
    }

    [Fact]
    public async Task An_address_where_another_node_answers_is_not_dialed_again_for_a_while()
    {
        await using var nodes = new TestNodes();
        var started = await SearchNetwork.StartAsync(nodes, 2);
        var (node, other) = (started[0], started[1]);
        var claimedKey = RawConnection.NewKey();
        var entry = new RouteHop(claimedKey.Id, other.Endpoint);
        var rawKey = RawConnection.NewKey();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawKey.Id));
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, Wait));

        for (int i = 0; i < 3; i++)
        {
            await RequestAndRouteAsync(raw, rawKey.Id, node, entry, requestId => Signing.Entry(claimedKey, entry.Endpoint, requestId));
        }

        Assert.Equal(1, other.Counters.ConnectionsAccepted);
        Assert.Equal(0, node.SearchCounters.DirectDeliveries);
        Assert.Equal(2, node.SearchCounters.DirectDialsRefused);
    }

    [Fact]
    public async Task An_address_of_a_node_this_node_is_linked_to_is_never_dialed_for_another_entry_id()
    {
        await using var nodes = new TestNodes();
        var started = await SearchNetwork.StartAsync(nodes, 2);
        var (node, other) = (started[0], started[1]);
        await SearchNetwork.LinkAsync(started, (0, 1));
        long accepted = other.Counters.ConnectionsAccepted;
        // A key of the attacker's own signs for an id it made up, at the address of the node linked to.
        var claimedKey = RawConnection.NewKey();
        var entry = new RouteHop(claimedKey.Id, other.Endpoint);
        var rawKey = RawConnection.NewKey();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawKey.Id), from: "127.0.0.23");
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 2, Wait));

        await RequestAndRouteAsync(raw, rawKey.Id, node, entry, requestId => Signing.Entry(claimedKey, entry.Endpoint, requestId));

        Assert.Equal(accepted, other.Counters.ConnectionsAccepted);
        Assert.Equal(1, node.SearchCounters.DirectDialsRefused);
        Assert.Equal(0, node.SearchCounters.DirectDeliveries);
    }

    [Fact]
    public async Task An_address_of_a_node_this_node_linked_to_before_is_not_dialed_for_another_entry_id_once_the_link_is_gone()
    {
        await using var nodes = new TestNodes();
        var started = await SearchNetwork.StartAsync(nodes, 2);
        var (node, other) = (started[0], started[1]);
        string otherEndpoint = other.Endpoint;
        await SearchNetwork.LinkAsync(started, (0, 1));
        // A stop is not a disconnect: the host cache keeps the node it linked to, with the id TLS proved.
        await other.StopAsync();
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 0, Wait));
        var claimedKey = RawConnection.NewKey();
        var entry = new RouteHop(claimedKey.Id, otherEndpoint);
        var rawKey = RawConnection.NewKey();
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(rawKey.Id), from: "127.0.0.26");
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, Wait));

        await RequestAndRouteAsync(raw, rawKey.Id, node, entry, requestId => Signing.Entry(claimedKey, entry.Endpoint, requestId));

        // Refused before any dial (a dial to the stopped node's port would have failed, not been refused).
        Assert.Equal(1, node.SearchCounters.DirectDialsRefused);
        Assert.Equal(0, node.SearchCounters.DirectDeliveries);
    }

    [Fact]
    public async Task An_address_whose_request_led_to_a_failed_delivery_dial_gets_no_dial_to_a_fresh_address_while_others_still_do()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1))[0];
        using var first = new AcceptCounter("127.0.0.9");
        using var second = new AcceptCounter("127.0.0.10");
        // Self-signed: the attacker holds the key of the entry id it names, so only the dial's identity check can tell.
        var victimKey = RawConnection.NewKey();
        var attackerKey = RawConnection.NewKey();
        using var attacker = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(attackerKey.Id), from: "127.0.0.24");
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, Wait));

        var atFirst = new RouteHop(victimKey.Id, first.Endpoint);
        await RequestAndRouteAsync(attacker, attackerKey.Id, node, atFirst, requestId => Signing.Entry(victimKey, atFirst.Endpoint, requestId));
        Assert.Equal(1, first.Accepted);

        // The same host names a fresh address: its requests lost direct delivery when the first dial failed.
        var atSecond = new RouteHop(victimKey.Id, second.Endpoint);
        await RequestAndRouteAsync(attacker, attackerKey.Id, node, atSecond, requestId => Signing.Entry(victimKey, atSecond.Endpoint, requestId));
        Assert.Equal(0, second.Accepted);
        Assert.Equal(1, node.SearchCounters.DirectDialsRefused);

        // Another address's requests are still delivered directly (here: dialed, and failing too).
        var otherKey = RawConnection.NewKey();
        using var other = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(otherKey.Id), from: "127.0.0.25");
        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 2, Wait));
        await RequestAndRouteAsync(other, otherKey.Id, node, atSecond, requestId => Signing.Entry(victimKey, atSecond.Endpoint, requestId));
        Assert.Equal(1, second.Accepted);
    }
}
