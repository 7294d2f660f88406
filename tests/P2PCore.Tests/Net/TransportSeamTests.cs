using P2PTransfer.Identity;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Net;

/// <summary>TLS, frames, the handshake and the close run over any transport the seam gives, not only TCP.</summary>
public class TransportSeamTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);

    /// <summary>TLS over an in-memory pair: the dialer's end, the server's end.</summary>
    private static async Task<(TlsConnection Dialer, TlsConnection Server)> SecuredPairAsync(NodeCredentials dialer, NodeCredentials server)
    {
        var (a, b) = InMemoryTransport.Pair();
        var accepting = Handshake.SecureAsync(b, server, CancellationToken.None);
        var connecting = TlsConnection.ConnectAsync(a, dialer, "memory:b", CancellationToken.None);
        return (await connecting.WaitAsync(Within), await accepting.WaitAsync(Within));
    }

    [Fact]
    public async Task TLS_a_handshake_and_frames_run_over_a_transport_that_is_not_a_socket()
    {
        var dialerCredentials = new NodeCredentials(NodeKey.CreateEphemeral());
        var serverCredentials = new NodeCredentials(NodeKey.CreateEphemeral());
        var (a, b) = await SecuredPairAsync(dialerCredentials, serverCredentials);
        Assert.Equal((serverCredentials.Id, dialerCredentials.Id), (a.RemoteId, b.RemoteId));
        await using var dialer = new FrameConnection(a);
        await using var server = new FrameConnection(b);
        Assert.Equal("memory:a", server.RemoteEndPoint);

        var id = dialerCredentials.Id;
        await dialer.SendAsync(Hello.Create(ConnectionRole.Peer, id, "127.0.0.2:47100", "a"), CancellationToken.None);
        var hello = await Handshake.AcceptAsync(server, Within, CancellationToken.None);
        Assert.Equal((ConnectionRole.Peer, id, "a"), (hello.Role, hello.NodeId, hello.Name));

        await server.SendAsync(new Ping(42), CancellationToken.None);
        var ping = Assert.IsType<Ping>(await dialer.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within));
        Assert.Equal(42UL, ping.Nonce);
    }

    [Fact]
    public async Task A_connection_counts_the_bytes_waiting_in_its_send_queue_and_the_time_it_spent_sending()
    {
        var (a, b) = InMemoryTransport.Pair();
        await using var sender = new FrameConnection(a);
        await using var remote = new FrameConnection(b);
        var files = Enumerable.Range(0, 300).Select(i => new FoundFile($"file-{i:D4}-{new string('x', 100)}.txt", i, new string('0', 64), $"pub/{i}.txt")).ToList();
        var hit = new QueryHit(Guid.NewGuid(), 0, 1, BacktraceStack.Start(new RouteHop(Guid.NewGuid(), "127.0.0.1:1")), Signing.Unsigned(Guid.NewGuid(), "s", "127.0.0.1:1"), files);
        int length = FrameCodec.GetFrameLength(hit);
        Assert.Equal(TimeSpan.Zero, sender.TakeSendTime());

        for (int i = 0; i < 60; i++)
        {
            await sender.SendAsync(hit, CancellationToken.None);
        }

        // The remote reads nothing: the write loop takes a batch of about 1 MiB and waits; the rest waits in the queue.
        Assert.True(await Eventually.TrueAsync(() => sender.QueuedBytes < 60L * length, Within));
        Assert.True(sender.QueuedBytes > 1024 * 1024, $"{sender.QueuedBytes} bytes queued");
        Assert.Equal(0, sender.QueuedBytes % length);

        for (int i = 0; i < 60; i++)
        {
            Assert.IsType<QueryHit>(await remote.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within));
        }

        Assert.Equal(0, sender.QueuedBytes);

        // Once the last flush is over, everything the write loop spent has been counted: taken once.
        Assert.True(await Eventually.TrueAsync(() => !sender.IsSending, Within));
        Assert.True(sender.TakeSendTime() > TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, sender.TakeSendTime());
    }

    [Fact]
    public async Task A_close_sends_its_last_frame_then_the_end_of_the_stream()
    {
        var (a, b) = await SecuredPairAsync(NodeCredentials.Client, new NodeCredentials(NodeKey.CreateEphemeral()));
        await using var closing = new FrameConnection(a);
        await using var remote = new FrameConnection(b);

        await closing.RequestCloseAsync(Bye.Create(ProtocolError.Shutdown, "bye")).WaitAsync(Within);

        var bye = Assert.IsType<Bye>(await remote.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within));
        Assert.Equal(ProtocolError.Shutdown, bye.Reason);
        Assert.Null(await remote.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within));
    }

    [Fact]
    public async Task Handshake_dials_through_the_dialer_it_is_given()
    {
        var (a, b) = InMemoryTransport.Pair();
        using var serverKey = NodeKey.CreateEphemeral();
        var serverId = serverKey.Id;
        var serving = Task.Run(async () =>
        {
            var server = new FrameConnection(await Handshake.SecureAsync(b, new NodeCredentials(serverKey), CancellationToken.None));
            await Handshake.AcceptAsync(server, Within, CancellationToken.None);
            await server.SendAsync(Welcome.Create(NodeAvailability.Available, serverId, "127.0.0.3:47100", "server"), CancellationToken.None);
            return server;
        });

        var dialer = new OneConnectionDialer(a);
        var hello = Hello.Create(ConnectionRole.Client, NodeCredentials.Client.Id, string.Empty, string.Empty);
        var (connection, welcome) = await Handshake.DialAsync(new TlsDialer(dialer, NodeCredentials.Client), "127.0.0.9:1", 47100, hello, Within, CancellationToken.None).WaitAsync(Within);
        await using (connection)
        await using (await serving.WaitAsync(Within))
        {
            Assert.Equal(("127.0.0.9:1", 47100), (dialer.Address, dialer.DefaultPort));
            Assert.Equal((serverId, "server"), (welcome.NodeId, welcome.Name));
            Assert.Equal("memory:b", connection.RemoteEndPoint);
        }
    }

    /// <summary>Hands out one given connection, noting what it was asked to dial.</summary>
    private sealed class OneConnectionDialer(ITransportConnection connection) : IConnectionDialer
    {
        public string? Address { get; private set; }

        public int DefaultPort { get; private set; }

        public Task<ITransportConnection> DialAsync(string address, int defaultPort, TimeSpan timeout, CancellationToken cancellationToken)
        {
            (Address, DefaultPort) = (address, defaultPort);
            return Task.FromResult(connection);
        }
    }
}
