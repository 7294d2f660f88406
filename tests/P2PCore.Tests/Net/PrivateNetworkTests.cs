using P2PTransfer.Client;
using P2PTransfer.Identity;
using P2PTransfer.Net;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Net;

/// <summary>
/// Private networks (-NetworkKey): members prove the key to each other on every connection, bound to both
/// TLS-proven ids and both nonces; nobody else is linked, answered or served. And -TrustedNode.
/// </summary>
public class PrivateNetworkTests
{
    private static readonly byte[] Key = NetworkKey.Parse(NetworkKey.New());
    private static readonly byte[] OtherKey = NetworkKey.Parse(NetworkKey.New());

    private static Action<NodeOptions> Member(byte[] key) => options => options.NetworkKey = key;

    [Fact]
    public async Task Members_link_search_and_download_from_each_other()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 5, 301);
        var (a, _) = await StartSharingAsync(nodes, "a", 1, [("members-only.bin", content)], Member(Key));
        var b = await nodes.StartAsync("b", 2, Member(Key));

        var link = await b.ConnectPeerAsync(a.Endpoint);
        Assert.Equal(a.Id, link.NodeId);
        var found = Assert.Single(await SearchNetwork.SearchAsync(b, new FileQuery { Names = ["members-only.*"] }));
        Assert.Equal(a.Id, found.NodeId);

        await using var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes), NetworkKey = Key });
        var item = batch.Add(found.Hash, found.Name, found.Size, found.Endpoint)!;
        await RunAsync(batch);
        Assert.True(item.State == DownloadState.Completed, Describe(item));
        Assert.True(File.ReadAllBytes(item.Destination).AsSpan().SequenceEqual(content));
    }

    [Fact]
    public async Task A_dialer_without_the_key_is_told_the_node_belongs_to_a_private_network_and_is_not_linked()
    {
        await using var nodes = new TestNodes();
        var member = await nodes.StartAsync("member", 1, Member(Key));
        var outsider = await nodes.StartAsync("outsider", 2);

        var peer = await Assert.ThrowsAsync<P2PException>(() => outsider.ConnectPeerAsync(member.Endpoint));
        var client = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync(member.Endpoint));

        foreach (var error in new[] { peer, client })
        {
            Assert.Equal(ProtocolError.NotMember, error.Code);
            Assert.Equal($"node member ({member.Endpoint}) belongs to a private network: connecting to it needs the network's key (-NetworkKey)", error.Message);
        }

        Assert.Equal((0, 0), (member.PeerCount, outsider.PeerCount));
    }

    [Fact]
    public async Task A_dialer_with_another_key_refuses_the_node_it_reaches_and_a_member_refuses_an_open_node()
    {
        await using var nodes = new TestNodes();
        var member = await nodes.StartAsync("member", 1, Member(Key));
        var stranger = await nodes.StartAsync("stranger", 2, Member(OtherKey));
        var open = await nodes.StartAsync("open", 3);

        var wrongKey = await Assert.ThrowsAsync<P2PException>(() => stranger.ConnectPeerAsync(member.Endpoint));
        Assert.Equal(ProtocolError.NotMember, wrongKey.Code);
        Assert.Equal($"node member ({member.Endpoint}) is not a member of this network: its membership proof does not match the network key", wrongKey.Message);

        var openServer = await Assert.ThrowsAsync<P2PException>(() => member.ConnectPeerAsync(open.Endpoint));
        Assert.Equal(ProtocolError.NotMember, openServer.Code);
        Assert.Equal($"node open ({open.Endpoint}) is not a member of this network: it is on an open network", openServer.Message);

        var client = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync(member.Endpoint, OtherKey));
        Assert.Equal(ProtocolError.NotMember, client.Code);
        Assert.Equal((0, 0, 0), (member.PeerCount, stranger.PeerCount, open.PeerCount));
    }

    [Fact]
    public async Task A_server_refuses_a_dialer_that_proves_nothing_or_a_wrong_proof_with_NotMember()
    {
        await using var nodes = new TestNodes();
        var member = await nodes.StartAsync("member", 1, Member(Key));

        using var silent = await RawConnection.OpenAsync(member.Endpoint);
        await silent.SendAsync(RawConnection.ClientHello());
        Assert.NotNull(Assert.IsType<Welcome>(await silent.ReadFrameAsync(Wait)).Proof);
        await silent.SendAsync(new Ping(1));
        var (messages, closed) = await silent.ReadUntilClosedAsync(Wait);
        Assert.True(closed);
        Assert.Equal(ProtocolError.NotMember, Assert.IsType<ErrorMessage>(messages.Last()).Error);

        using var wrong = await RawConnection.OpenAsync(member.Endpoint);
        var hello = RawConnection.ClientHello();
        await wrong.SendAsync(hello);
        var welcome = Assert.IsType<Welcome>(await wrong.ReadFrameAsync(Wait));
        await wrong.SendAsync(new MembershipProof(Membership.Proof(OtherKey, Membership.DialerRole, NodeCredentials.Client.Id, member.Id, hello.Nonce, welcome.Nonce)));
        (messages, closed) = await wrong.ReadUntilClosedAsync(Wait);
        Assert.True(closed);
        var error = Assert.IsType<ErrorMessage>(messages.Last());
        Assert.Equal(ProtocolError.NotMember, error.Error);
        Assert.Contains("does not match the network key", error.Message);
        Assert.Equal(0, member.ConnectionCount);
    }

    [Fact]
    public async Task A_proof_taken_from_one_connection_is_refused_on_another()
    {
        await using var nodes = new TestNodes();
        var member = await nodes.StartAsync("member", 1, Member(Key));

        // A member's connection: its proof is good there.
        using var first = await RawConnection.OpenAsync(member.Endpoint);
        var hello = RawConnection.ClientHello();
        await first.SendAsync(hello);
        var welcome = Assert.IsType<Welcome>(await first.ReadFrameAsync(Wait));
        var recorded = new MembershipProof(Membership.Proof(Key, Membership.DialerRole, NodeCredentials.Client.Id, member.Id, hello.Nonce, welcome.Nonce));
        await first.SendAsync(recorded);
        await first.SendAsync(new Ping(2));
        Assert.Equal(new Pong(2), (await first.ReadFramesAsync(2, Wait))[1]);

        // The same proof, by the same client, with the same Hello, on a new connection: the server's nonce differs.
        using var replay = await RawConnection.OpenAsync(member.Endpoint);
        await replay.SendAsync(hello);
        Assert.IsType<Welcome>(await replay.ReadFrameAsync(Wait));
        await replay.SendAsync(recorded);
        var (messages, closed) = await replay.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        Assert.Equal(ProtocolError.NotMember, Assert.IsType<ErrorMessage>(messages.Last()).Error);
        Assert.Equal(1, member.ConnectionCount);
    }

    [Fact]
    public async Task A_relay_between_two_members_cannot_pass_membership_even_speaking_as_itself()
    {
        await using var nodes = new TestNodes();
        var server = await nodes.StartAsync("server", 1, Member(Key));
        var dialer = await nodes.StartAsync("dialer", 2, Member(Key));
        await using var relay = new MembershipRelay(server.Endpoint);

        var error = await Assert.ThrowsAsync<P2PException>(() => dialer.ConnectPeerAsync(relay.Endpoint));

        // The server proved itself to the relay (the relay's id and nonces), which is no proof to the dialer.
        Assert.Equal(ProtocolError.NotMember, error.Code);
        Assert.Contains("does not match the network key", error.Message);
        Assert.Equal((0, 0), (server.PeerCount, dialer.PeerCount));
        Assert.True(await relay.WelcomePassed.WaitAsync(Wait), "the relay reached the server and passed its Welcome on");
    }

    [Fact]
    public async Task Trusted_nodes_alone_are_linked_answered_and_served_and_a_node_still_reaches_itself()
    {
        await using var nodes = new TestNodes();
        var friend = await nodes.StartAsync("friend", 2);
        var stranger = await nodes.StartAsync("stranger", 3);
        var guarded = await nodes.StartAsync("guarded", 1, options => options.TrustedNodes = [friend.Id]);

        await friend.ConnectPeerAsync(guarded.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => guarded.PeerCount == 1, Wait));

        var inbound = await Assert.ThrowsAsync<P2PException>(() => stranger.ConnectPeerAsync(guarded.Endpoint));
        Assert.Equal(ProtocolError.NotTrusted, inbound.Code);
        Assert.Contains($"node guarded admits only its trusted nodes, and node {NodeIdText.Format(stranger.Id)} is not one of them", inbound.Message);
        var client = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync(guarded.Endpoint));
        Assert.Equal(ProtocolError.NotTrusted, client.Code);

        var outbound = await Assert.ThrowsAsync<P2PException>(() => guarded.ConnectPeerAsync(stranger.Endpoint));
        Assert.Equal(ProtocolError.NotTrusted, outbound.Code);
        Assert.Equal($"{stranger.Endpoint} is node {NodeIdText.Format(stranger.Id)}, which is not one of this node's trusted nodes (-TrustedNode)", outbound.Message);

        RawConnection.CredentialsOf(guarded);
        using var itself = await RawConnection.HandshakeAsync(guarded.Endpoint, Hello.Create(ConnectionRole.Client, guarded.Id, guarded.Endpoint, guarded.Name));
        Assert.Equal((1, 0), (guarded.PeerCount, stranger.PeerCount));
    }

    /// <summary>
    /// A node in the middle with a key of its own and no network key: it takes a dialer's TLS connection, opens its
    /// own to the server, and passes the Hello and the Welcome on with their ids made its own (so each side's
    /// TLS check passes) and everything else as it is: nonces, proofs.
    /// </summary>
    private sealed class MembershipRelay : IAsyncDisposable
    {
        private static readonly NodeCredentials Credentials = new(NodeKey.CreateEphemeral());
        private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource<bool> _welcomePassed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _run;

        public MembershipRelay(string upstream)
        {
            _listener.Start();
            Endpoint = NetworkAddress.Format((System.Net.IPEndPoint)_listener.LocalEndpoint);
            _run = RunAsync(upstream);
        }

        public string Endpoint { get; }

        public Task<bool> WelcomePassed => _welcomePassed.Task;

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
        }

        private async Task RunAsync(string upstream)
        {
            try
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                await using var down = new FrameConnection(await Handshake.SecureAsync(new TcpConnection(socket), Credentials, _stop.Token));
                var hello = Assert.IsType<Hello>(await down.ReceiveAsync(ProtocolLimits.MaxHandshakePayload, _stop.Token));
                var tls = (TlsConnection)await new TlsDialer(TcpDialer.Instance, Credentials).DialAsync(upstream, 0, Wait, _stop.Token);
                await using var up = new FrameConnection(tls);
                await up.SendAsync(hello with { NodeId = Credentials.Id }, _stop.Token);
                var welcome = Assert.IsType<Welcome>(await up.ReceiveAsync(ProtocolLimits.MaxHandshakePayload, _stop.Token));
                await down.SendAsync(welcome with { NodeId = Credentials.Id }, _stop.Token);
                _welcomePassed.TrySetResult(true);

                // Whatever the dialer says next goes on, until either side closes.
                while (await down.ReceiveAsync(ProtocolLimits.MaxPayload, _stop.Token) is { } frame)
                {
                    await up.SendAsync(frame, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or P2PException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                _welcomePassed.TrySetResult(false);
            }
        }
    }
}
