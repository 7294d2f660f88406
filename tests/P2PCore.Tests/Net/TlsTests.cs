using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using P2PTransfer.Client;
using P2PTransfer.Identity;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Net;

/// <summary>Every connection is TLS 1.3, and the node id a dialer meets is the one TLS proves.</summary>
public class TlsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task The_id_a_client_sees_is_the_one_the_servers_certificate_proves_over_TLS_1_3()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");

        using var raw = await RawConnection.OpenAsync(node.Endpoint);
        await using var client = await NodeClient.ConnectAsync(node.Endpoint);

        Assert.Equal(node.Id, raw.RemoteId);
        Assert.Equal(node.Id, client.RemoteId);
        var tls = Assert.IsType<TlsConnection>(client.Connection.Transport);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, tls.Protocol);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(TlsCipherSuite.TLS_AES_128_GCM_SHA256, tls.CipherSuite);
        }
    }

    [Fact]
    public async Task A_dial_that_expects_another_node_fails_WrongNode_and_sends_nothing()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = NetworkAddress.Format((IPEndPoint)listener.LocalEndpoint);
        using var serverKey = NodeKey.CreateEphemeral();
        using var expectedKey = NodeKey.CreateEphemeral();
        var serving = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            using var secured = await Handshake.SecureAsync(new TcpConnection(socket), new NodeCredentials(serverKey), CancellationToken.None);
            var buffer = new byte[64];
            try
            {
                return await secured.Stream.ReadAsync(buffer).AsTask().WaitAsync(Wait);
            }
            catch (IOException)
            {
                return 0;
            }
        });

        var hello = RawConnection.ClientHello();
        var error = await Assert.ThrowsAsync<P2PException>(() => Handshake.DialAsync(TlsDialer.Client, endpoint, 0, hello, Wait, CancellationToken.None, expectedId: expectedKey.Id));

        Assert.Equal(ProtocolError.WrongNode, error.Code);
        Assert.Equal($"{endpoint} answered as node {NodeIdText.Format(serverKey.Id)}, expected {NodeIdText.Format(expectedKey.Id)}", error.Message);
        Assert.Equal(0, await serving.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_peer_link_to_a_known_node_id_refuses_a_server_that_proves_another()
    {
        await using var nodes = new TestNodes();
        var dialer = await nodes.StartAsync("dialer", 1);
        var expected = await nodes.StartAsync("expected", 2);
        var other = await nodes.StartAsync("other", 3);

        var error = await Assert.ThrowsAsync<P2PException>(() => dialer.ConnectPeerAsync(other.Endpoint, expected.Id));

        Assert.Equal(ProtocolError.WrongNode, error.Code);
        Assert.Equal($"{other.Endpoint} answered as node {other.IdText}, expected {expected.IdText}", error.Message);
        Assert.Equal((0, 0), (dialer.PeerCount, other.PeerCount));
        Assert.Equal(expected.Id, (await dialer.ConnectPeerAsync(expected.Endpoint, expected.Id)).NodeId);
    }

    [Fact]
    public async Task A_protocol_1_dialer_gets_one_plaintext_Error_UnsupportedVersion_naming_protocol_2_and_TLS()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");
        using var old = await RawConnection.OpenPlaintextAsync(node.Endpoint);

        // Protocol 1's Hello of a pure client, in the clear: magic, version 1, role 1, a zero id, no endpoint, no name.
        byte[] payload = [0x50, 0x32, 0x50, 0x54, 0, 1, 1, .. new byte[16], 0, 0, 0, 0];
        await old.SendAsync([(byte)MessageCode.Hello, 0, 0, 0, 0, (byte)payload.Length, .. payload]);
        var (messages, closed) = await old.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        var error = Assert.IsType<ErrorMessage>(Assert.Single(messages));
        Assert.Equal(ProtocolError.UnsupportedVersion, error.Error);
        Assert.Contains("protocol 2 (TLS 1.3", error.Message);
        Assert.True(await Eventually.TrueAsync(() => node.Counters.HandshakesFailed == 1, Wait));
        Assert.Equal(0, node.ConnectionCount);
    }

    [Fact]
    public async Task Bytes_that_are_neither_TLS_nor_a_Hello_are_closed_without_a_plaintext_answer()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");
        using var stranger = await RawConnection.OpenPlaintextAsync(node.Endpoint);

        await stranger.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var (messages, closed) = await stranger.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        Assert.Empty(messages);
        Assert.Equal(0, stranger.BytesReceived);
    }
}
