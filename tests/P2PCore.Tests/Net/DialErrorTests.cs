using System.Net;
using System.Net.Sockets;
using System.Text;
using P2PTransfer.Client;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Net;

/// <summary>What goes wrong before a connection is a P2PTransfer connection is named for what it is, with the address.</summary>
public class DialErrorTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_node_on_a_port_already_in_use_fails_AddressInUse_naming_the_address()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await using var nodes = new TestNodes();

        var error = await Assert.ThrowsAsync<P2PException>(() => nodes.StartAsync("late", configure: o => o.Port = port));

        Assert.Equal(ProtocolError.AddressInUse, error.Code);
        Assert.Contains($"127.0.0.1:{port}", error.Message);
        Assert.Contains("already in use", error.Message);
    }

    [Fact]
    public async Task A_host_name_under_dot_invalid_fails_HostNotFound_answered_by_the_node_without_asking_the_network()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("dialer");

        var error = await Assert.ThrowsAsync<P2PException>(() => node.ConnectPeerAsync("no-such-host.invalid:47100"));

        Assert.Equal(ProtocolError.HostNotFound, error.Code);
        Assert.Contains("no-such-host.invalid", error.Message);
        // RFC 6761: answered by the node itself, which only this message says; a resolver's answer would carry the
        // resolver's SocketException.
        Assert.Contains("names under .invalid never exist (RFC 6761)", error.Message);
        Assert.Null(error.InnerException);
        var client = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync("NO-SUCH-HOST.INVALID."));
        Assert.Equal(ProtocolError.HostNotFound, client.Code);
        Assert.Contains("names under .invalid never exist (RFC 6761)", client.Message);
    }

    [Fact]
    public async Task A_dialer_that_reaches_an_HTTP_server_says_it_is_not_a_P2PTransfer_node()
    {
        await using var http = new BadRequestServer();
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("dialer");

        var peer = await Assert.ThrowsAsync<P2PException>(() => node.ConnectPeerAsync(http.Endpoint));
        var client = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync(http.Endpoint));

        foreach (var error in new[] { peer, client })
        {
            Assert.Equal(ProtocolError.NotP2PNode, error.Code);
            Assert.StartsWith($"{http.Endpoint} is not a P2PTransfer node", error.Message);
        }

        Assert.Equal(2, http.Requests.Count);
        Assert.All(http.Requests, r => Assert.Equal(TlsConnection.HandshakeRecordType, r[0]));
        Assert.Equal(0, node.PeerCount);
    }

    [Fact]
    public async Task A_dialer_that_reaches_a_protocol_1_node_says_it_speaks_an_older_protocol_without_TLS()
    {
        // What a protocol-1 node answers to the first byte of a TLS handshake: a plaintext Error, then it closes.
        await using var old = new BadRequestServer(FrameCodec.ToArray(ErrorMessage.Create(ProtocolError.UnknownCode, "unknown request code 0x16")));

        var error = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync(old.Endpoint));

        Assert.Equal(ProtocolError.UnsupportedVersion, error.Code);
        Assert.Equal($"{old.Endpoint} answered in plaintext: it speaks protocol 1 (no TLS), and this node speaks protocol 2 (TLS 1.3 on every connection)", error.Message);
    }

    [Fact]
    public async Task A_welcome_that_names_another_node_than_the_certificate_proves_fails_the_dial_IdentityMismatch()
    {
        await using var server = new BadRequestServer(FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "127.0.0.1:1", "liar")), tls: true);

        var error = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync(server.Endpoint));

        Assert.Equal(ProtocolError.IdentityMismatch, error.Code);
        Assert.Contains("but its certificate proves node", error.Message);
    }

    [Theory]
    [InlineData("a known code other than Welcome", new byte[] { 0x03, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1 })]
    [InlineData("flags beyond the optional bit on a Welcome", new byte[] { 0x02, 2, 0, 0, 0, 0 })]
    [InlineData("a Welcome longer than any Welcome", new byte[] { 0x02, 0, 0, 0, 0x10, 0 })]
    public async Task A_first_answer_that_is_no_Welcome_or_Error_header_is_NotP2PNode(string what, byte[] answer)
    {
        await using var server = new BadRequestServer(answer, tls: true);

        var error = await Assert.ThrowsAsync<P2PException>(() => NodeClient.ConnectAsync(server.Endpoint));

        Assert.True(error.Code == ProtocolError.NotP2PNode, $"{what}: {error.Code} {error.Message}");
    }

    public static TheoryData<string, byte[], string> BrokenWelcomes()
    {
        var availabilityThree = FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "127.0.0.1:1", "w"));
        availabilityThree[ProtocolLimits.FrameHeaderLength + 2] = 3;
        return new TheoryData<string, byte[], string>
        {
            { "availability 3", availabilityThree, "availability" },
            { "a zero node id", FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.Empty, "127.0.0.1:1", "w")), "nodeId" },
            { "the endpoint 'garbage'", FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "garbage", "w")), "endpoint" },
            { "an empty endpoint", FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "", "w")), "endpoint" },
            { "an empty name", FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "127.0.0.1:1", "")), "name" },
            { "a name with a slash", FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "127.0.0.1:1", "a/b")), "name" },
        };
    }

    [Theory]
    [MemberData(nameof(BrokenWelcomes))]
    public async Task A_welcome_whose_fields_break_their_rules_fails_the_dial_MalformedFrame(string what, byte[] welcome, string field)
    {
        await using var server = new BadRequestServer(welcome, tls: true);

        var error = await Assert.ThrowsAsync<ProtocolException>(() => NodeClient.ConnectAsync(server.Endpoint));

        Assert.True(error.Code == ProtocolError.MalformedFrame, $"{what}: {error.Code} {error.Message}");
        Assert.Contains(field, error.Message);
    }

    /// <summary>
    /// A loopback server that is not a P2PTransfer node: it reads what a dialer sends, answers with fixed bytes (an
    /// HTTP 400 by default, as a web server does to bytes it cannot parse) and closes. With <c>tls</c> it first
    /// does the TLS handshake as a node does, and the fixed bytes go inside.
    /// </summary>
    private sealed class BadRequestServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly byte[] _answer;
        private readonly Task _loop;

        private readonly bool _tls;

        public BadRequestServer(byte[]? answer = null, bool tls = false)
        {
            _tls = tls;
            _answer = answer ?? Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            _listener.Start();
            Endpoint = NetworkAddress.Format((IPEndPoint)_listener.LocalEndpoint);
            _loop = ServeAsync();
        }

        public string Endpoint { get; }

        private static NodeCredentials Credentials { get; } = new(P2PTransfer.Identity.NodeKey.CreateEphemeral());

        /// <summary>The first bytes of each connection, as they arrived.</summary>
        public List<byte[]> Requests { get; } = [];

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                await _loop;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or P2PException)
            {
            }
        }

        private async Task ServeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                using ITransportConnection connection = _tls
                    ? await Handshake.SecureAsync(new TcpConnection(await _listener.AcceptSocketAsync(_stop.Token)), Credentials, _stop.Token)
                    : new TcpConnection(await _listener.AcceptSocketAsync(_stop.Token));
                var buffer = new byte[4096];
                int n = await connection.Stream.ReadAsync(buffer, _stop.Token);
                lock (Requests)
                {
                    Requests.Add(buffer[..n]);
                }

                await connection.Stream.WriteAsync(_answer, _stop.Token);
                await connection.ShutdownSendAsync();
                // Read until the dialer lets go, so closing does not reset the connection before it reads the answer.
                using var linger = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                linger.CancelAfter(Wait);
                try
                {
                    while (await connection.Stream.ReadAsync(buffer, linger.Token) > 0)
                    {
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException)
                {
                }
            }
        }
    }
}
