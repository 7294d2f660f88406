using P2PTransfer.Client;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Node;

/// <summary>
/// One hostile host cannot take a node down: the node counts connections per remote address (clients and peer links
/// apart, peer links per subnet too), bans addresses that connect too often, and closes idle clients near its limit.
/// The hostile host connects from another 127.0.0.x address than the bystander (127.0.0.1).
/// </summary>
public sealed class SourceLimitTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task OneAddressThatOpensIdleClientsUpToTheNodesLimitHoldsOnlyItsShareAndABystanderIsWelcomedAndAnswered()
    {
        await using var nodes = new TestNodes();
        var node = (await SearchNetwork.StartAsync(nodes, 1, o => o.MaxConnections = 24))[0];
        var hostile = new List<RawConnection>();
        try
        {
            var replies = new List<IMessage>();
            for (int i = 0; i < 24; i++)
            {
                var raw = await RawConnection.OpenAsync(node.Endpoint, from: "127.0.0.9");
                hostile.Add(raw);
                await raw.SendAsync(RawConnection.ClientHello());
                replies.Add(await raw.ReadFrameAsync(Wait));
            }

            Assert.Equal(16, replies.Count(r => r is Welcome { Availability: NodeAvailability.Available }));
            var refusals = replies.OfType<ErrorMessage>().ToList();
            Assert.Equal(8, refusals.Count);
            Assert.All(refusals, r => Assert.Equal(ProtocolError.TooManyConnections, r.Error));
            Assert.Contains("127.0.0.9", refusals[0].Message);

            await using var bystander = await NodeClient.ConnectAsync(node.Endpoint, Wait);
            var results = new List<P2PSearchResult>();
            await foreach (var result in bystander.SearchAsync(new FileQuery { Names = ["file-*"] }, new SearchOptions { Ttl = 0, Timeout = Wait }))
            {
                results.Add(result);
            }

            Assert.Equal("file-n0.txt", Assert.Single(results).Name);
            Assert.Equal(8, node.Counters.RefusedByAddress);
        }
        finally
        {
            hostile.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task FifteenHundredSilentSocketsFromOneAddressCannotKeepABystanderOut()
    {
        await using var nodes = new TestNodes();
        // The silent sockets would be held for a minute: only the limits per source can let the bystander in.
        var node = await nodes.StartAsync("n", configure: o => o.HandshakeTimeout = TimeSpan.FromSeconds(60));
        var silent = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 1500; i++)
            {
                silent.Add(await RawConnection.OpenPlaintextAsync(node.Endpoint, from: "127.0.0.10"));
            }

            Assert.True(await Eventually.TrueAsync(() => node.Counters.ConnectionsAccepted >= 1500, TimeSpan.FromSeconds(60)));

            await using var bystander = await NodeClient.ConnectAsync(node.Endpoint, Wait);
            await bystander.PingAsync(Wait);

            // At most its share is held; past the connect rate the address is banned and closed at accept.
            Assert.True(node.InboundConnections <= 16 + 4 + 1, $"{node.InboundConnections} inbound connections");
            Assert.True(node.Counters.RefusedBanned > 1000, $"{node.Counters.RefusedBanned} closed by the ban");
        }
        finally
        {
            silent.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task NearItsConnectionLimitTheNodeClosesItsOldestIdleClientWithByeNodeBusyAndWelcomesABystander()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("n", configure: o =>
        {
            // No keep-alive ping in the way: the first frame after the Welcome is the one the test waits for.
            TestNodes.SlowKeepAlive(o);
            o.MaxConnections = 8;
            o.IdleClientTimeout = TimeSpan.Zero;
        });
        var idle = new List<RawConnection>();
        try
        {
            // Seven idle clients: the node is at 7/8 of its limit, nobody is closed yet.
            for (int i = 0; i < 7; i++)
            {
                idle.Add(await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), from: "127.0.0.11"));
            }

            Assert.Equal(0, node.Counters.IdleClientsClosed);

            // The eighth makes room: the oldest idle client gets Bye(NodeBusy).
            idle.Add(await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), from: "127.0.0.11"));
            var (messages, closed) = await idle[0].ReadUntilClosedAsync(Wait);
            var bye = Assert.IsType<Bye>(Assert.Single(messages.Skip(1)));
            Assert.Equal(ProtocolError.NodeBusy, bye.Reason);
            Assert.True(closed);
            Assert.True(idle.Skip(1).All(r => r.Available == 0));
            idle[0].Dispose();
            Assert.True(await Eventually.TrueAsync(() => node.InboundConnections == 7, Wait));

            await using var bystander = await NodeClient.ConnectAsync(node.Endpoint, Wait);
            await bystander.PingAsync(Wait);
            Assert.Equal(2, node.Counters.IdleClientsClosed);
        }
        finally
        {
            idle.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task OneAddressMayOpenFourPeerLinksUnderMadeUpIdsAndTheFifthIsRefusedTooManyConnections()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("n");
        var links = new List<RawConnection>();
        try
        {
            var replies = new List<IMessage>();
            for (int i = 0; i < 8; i++)
            {
                var id = RawConnection.NewId();
                var raw = await RawConnection.OpenAsync(node.Endpoint, credentials: RawConnection.CredentialsFor(id), from: "127.0.0.12");
                links.Add(raw);
                await raw.SendAsync(RawConnection.PeerHello(id, $"sybil{i}"));
                replies.Add(await raw.ReadFrameAsync(Wait));
            }

            Assert.Equal(4, replies.Count(r => r is Welcome { Availability: NodeAvailability.Available }));
            Assert.All(replies.Skip(4), r => Assert.Equal(ProtocolError.TooManyConnections, Assert.IsType<ErrorMessage>(r).Error));
            Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 4, Wait));

            // Clients from the same address are counted apart from its peer links.
            using var client = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), from: "127.0.0.12");
        }
        finally
        {
            links.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task PeerLinksFromOneSubnetAreBoundedWhateverAddressesTheyComeFrom()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("n", configure: o => o.MaxPeersPerSubnet = 3);
        var links = new List<RawConnection>();
        try
        {
            var replies = new List<IMessage>();
            foreach (var from in new[] { "127.0.0.13", "127.0.0.13", "127.0.0.14", "127.0.0.14" })
            {
                var id = RawConnection.NewId();
                var raw = await RawConnection.OpenAsync(node.Endpoint, credentials: RawConnection.CredentialsFor(id), from: from);
                links.Add(raw);
                await raw.SendAsync(RawConnection.PeerHello(id));
                replies.Add(await raw.ReadFrameAsync(Wait));
            }

            Assert.All(replies.Take(3), r => Assert.IsType<Welcome>(r));
            var refusal = Assert.IsType<ErrorMessage>(replies[3]);
            Assert.Equal(ProtocolError.TooManyConnections, refusal.Error);
            Assert.Contains("127.0.0.0/24", refusal.Message);
        }
        finally
        {
            links.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task AnAddressThatConnectsTooOftenIsToldItIsBannedThenClosedAtAcceptWhileOthersAreServed()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("n", configure: o => o.ConnectsPerMinutePerAddress = 5);
        for (int i = 0; i < 5; i++)
        {
            using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), from: "127.0.0.15");
        }

        using (var sixth = await RawConnection.OpenAsync(node.Endpoint, from: "127.0.0.15"))
        {
            await sixth.SendAsync(RawConnection.ClientHello());
            var refusal = Assert.IsType<ErrorMessage>(await sixth.ReadFrameAsync(Wait));
            Assert.Equal(ProtocolError.TooManyConnections, refusal.Error);
            Assert.Contains("refused for 5 min", refusal.Message);
        }

        // Banned: closed at accept, before TLS, so the socket hears nothing at all.
        using (var seventh = await RawConnection.OpenPlaintextAsync(node.Endpoint, from: "127.0.0.15"))
        {
            var (messages, closed) = await seventh.ReadUntilClosedAsync(Wait);
            Assert.Empty(messages);
            Assert.True(closed);
        }

        Assert.Equal(1, node.Counters.RefusedBanned);
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint, Wait);
        await bystander.PingAsync(Wait);
    }

    [Fact]
    public async Task ANodeListeningOnOneAddressDialsItsPeersFromThatAddress()
    {
        await using var nodes = new TestNodes();
        var a = await nodes.StartAsync("a", host: 1);
        var b = await nodes.StartAsync("b", host: 2);
        await b.ConnectPeerAsync(a.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => a.PeerCount == 1, Wait));
        Assert.StartsWith("127.0.0.2:", a.GetPeers()[0].RemoteAddress);
    }
}
