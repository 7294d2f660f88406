using System.Buffers.Binary;
using P2PTransfer.Client;
using P2PTransfer.Common;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Node;

/// <summary>Bad input closes the offending connection with a clear error; the node keeps serving everyone else.</summary>
public class HostileInputTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public static TheoryData<string, byte[], ProtocolError> BadFirstFrames()
    {
        var versionThree = FrameCodec.ToArray(Hello.Create(ConnectionRole.Peer, Guid.NewGuid(), "h:1", "v3") with { MinVersion = 3, MaxVersion = 3 });
        var oversized = FrameCodec.ToArray(RawConnection.ClientHello());
        BinaryPrimitives.WriteUInt32BigEndian(oversized.AsSpan(2), 100_000_000);
        var badMagic = FrameCodec.ToArray(RawConnection.ClientHello());
        badMagic[6] = (byte)'X';
        return new TheoryData<string, byte[], ProtocolError>
        {
            { "garbage", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), ProtocolError.UnknownCode },
            { "wrong version", versionThree, ProtocolError.UnsupportedVersion },
            { "oversized length", oversized[..6], ProtocolError.FrameTooLarge },
            { "bad magic", badMagic, ProtocolError.BadMagic },
            { "ping before hello", FrameCodec.ToArray(new Ping(1)), ProtocolError.UnexpectedMessage },
            { "unknown code", [0x5F, 0, 0, 0, 0, 0], ProtocolError.UnknownCode },
        };
    }

    [Theory]
    [MemberData(nameof(BadFirstFrames))]
    public async Task A_bad_first_frame_gets_an_error_and_a_closed_connection(string what, byte[] bytes, ProtocolError expected)
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        await raw.SendAsync(bytes);
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed, $"{what}: the node should close the connection");
        var error = Assert.IsType<ErrorMessage>(Assert.Single(messages));
        Assert.Equal(expected, error.Error);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal(1, node.Counters.HandshakesFailed);
        await bystander.PingAsync(Wait);
    }

    /// <summary>A Hello frame with any field values, even ones the protocol forbids.</summary>
    private static byte[] HelloBytes(byte role, Guid id, string endpoint, string name, uint magic = ProtocolLimits.Magic, ushort version = ProtocolLimits.Version)
    {
        var frame = FrameCodec.ToArray(Hello.Create(ConnectionRole.Peer, id, endpoint, name) with { MinVersion = version, MaxVersion = version });
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(ProtocolLimits.FrameHeaderLength), magic);
        frame[ProtocolLimits.FrameHeaderLength + 8] = role;
        return frame;
    }

    /// <summary>A Hello whose payload is exactly <paramref name="length"/> bytes, its name making up the length.</summary>
    private static byte[] HelloOfLength(int length, ushort version)
    {
        var frame = HelloBytes(2, Guid.NewGuid(), "h:1", new string('n', length - (4 + 2 + 2 + 1 + 8 + 32 + 16 + 2 + 3 + 2)), version: version);
        Assert.Equal(length, frame.Length - ProtocolLimits.FrameHeaderLength);
        return frame;
    }

    public static TheoryData<string, byte[], ProtocolError, string> HandshakeRefusals()
    {
        var id = Guid.NewGuid();
        var pingWithoutNonce = new byte[] { (byte)MessageCode.Ping, 0, 0, 0, 0, 0 };
        var flagsAndTooLong = FrameCodec.ToArray(new Ping(1));
        flagsAndTooLong[1] = 2;
        BinaryPrimitives.WriteUInt32BigEndian(flagsAndTooLong.AsSpan(2), 1_000_000);
        var unknownWithFlags = new byte[] { 0x30, 3, 0, 0, 0, 0 };
        var tooLongPing = new byte[] { (byte)MessageCode.Ping, 0, 0, 0, 0, 9 };
        return new TheoryData<string, byte[], ProtocolError, string>
        {
            // Section 5: what each field may hold.
            { "a peer Hello with a zero node id", HelloBytes(2, Guid.Empty, "127.0.0.1:1", "p"), ProtocolError.MalformedFrame, "nodeId" },
            { "a role of 0", HelloBytes(0, id, "127.0.0.1:1", "p"), ProtocolError.MalformedFrame, "role" },
            { "a role of 3", HelloBytes(3, id, "127.0.0.1:1", "p"), ProtocolError.MalformedFrame, "role" },
            { "a peer Hello with an empty endpoint", HelloBytes(2, id, "", "p"), ProtocolError.MalformedFrame, "endpoint" },
            { "a peer Hello with the endpoint 'garbage'", HelloBytes(2, id, "garbage", "p"), ProtocolError.MalformedFrame, "endpoint" },
            { "a client Hello with the endpoint 'garbage'", HelloBytes(1, Guid.Empty, "garbage", ""), ProtocolError.MalformedFrame, "endpoint" },
            { "a port with a leading zero", HelloBytes(2, id, "127.0.0.1:080", "p"), ProtocolError.MalformedFrame, "endpoint" },
            { "a node name with a space", HelloBytes(2, id, "127.0.0.1:1", "two words"), ProtocolError.MalformedFrame, "name" },
            { "a node name starting with a dot", HelloBytes(1, Guid.Empty, "", ".hidden"), ProtocolError.MalformedFrame, "name" },
            // Section 2: the header in order (code, flags, length, place), then the payload.
            { "an unknown code with flags beyond the optional bit", unknownWithFlags, ProtocolError.UnknownCode, "0x30" },
            { "flags set and a length beyond the limit", flagsAndTooLong, ProtocolError.ReservedFlags, "flags" },
            { "a Ping first, longer than any Ping", tooLongPing, ProtocolError.FrameTooLarge, "Ping" },
            { "a Ping first, without its nonce", pingWithoutNonce, ProtocolError.UnexpectedMessage, "Hello" },
            // Section 5: Hello's fields are read in order, the first that fails names the error.
            { "a bad magic and a bad role", HelloBytes(9, id, "garbage", "p", magic: 0x48545450), ProtocolError.BadMagic, "magic" },
            { "version 3 and a bad role", HelloBytes(9, id, "garbage", "p", version: 3), ProtocolError.UnsupportedVersion, "versions 3 to 3" },
            // Section 5, forward compatibility: this version's maximum for Hello (395 bytes) is checked before the versions are read.
            { "a version 3 Hello of 395 bytes", HelloOfLength(ProtocolLimits.MaxPayloadFor(MessageCode.Hello), version: 3), ProtocolError.UnsupportedVersion, "versions 3 to 3" },
            { "a version 3 Hello of 396 bytes", HelloOfLength(ProtocolLimits.MaxPayloadFor(MessageCode.Hello) + 1, version: 3), ProtocolError.FrameTooLarge, "Hello" },
            { "a zero peer id and a bad endpoint", HelloBytes(2, Guid.Empty, "garbage", "p"), ProtocolError.MalformedFrame, "nodeId" },
        };
    }

    [Theory]
    [MemberData(nameof(HandshakeRefusals))]
    public async Task Each_handshake_refusal_gets_its_defined_code(string what, byte[] bytes, ProtocolError expected, string named)
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        await raw.SendAsync(bytes);
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed, $"{what}: the node should close the connection");
        var error = Assert.IsType<ErrorMessage>(Assert.Single(messages));
        Assert.True(expected == error.Error, $"{what}: expected {expected}, got {error.Error} ({error.Message})");
        Assert.Contains(named, error.Message);
        Assert.Equal(0, node.PeerCount);
    }

    [Theory]
    [InlineData("127.0.0.1:47100")]
    [InlineData("[::1]:1")]
    [InlineData("node-1.example.org:65535")]
    public async Task A_peer_that_announces_a_valid_endpoint_is_linked_under_it(string endpoint)
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, Hello.Create(ConnectionRole.Peer, RawConnection.NewId(), endpoint, "p"));

        Assert.True(await Eventually.TrueAsync(() => node.PeerCount == 1, Wait));
        Assert.Equal(endpoint, Assert.Single(node.GetPeers()).Endpoint);
    }

    [Fact]
    public async Task A_client_may_leave_endpoint_and_name_empty()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");

        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await raw.SendAsync(new Ping(3));
        Assert.Equal(new Pong(3), (await raw.ReadFramesAsync(2, Wait))[1]);
    }

    [Fact]
    public async Task A_peer_hello_with_the_nodes_own_id_is_refused_SelfLink_as_an_Error()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.OpenAsync(node.Endpoint, credentials: RawConnection.CredentialsOf(node));

        await raw.SendAsync(RawConnection.PeerHello(node.Id));
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        Assert.Equal(ProtocolError.SelfLink, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
    }

    [Fact]
    public async Task A_client_hello_with_the_nodes_own_id_is_welcomed_since_SelfLink_is_for_peer_links_only()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");

        RawConnection.CredentialsOf(node);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, Hello.Create(ConnectionRole.Client, node.Id, node.Endpoint, node.Name));
        await raw.SendAsync(new Ping(5));

        Assert.Equal(new Pong(5), (await raw.ReadFramesAsync(2, Wait))[1]);
    }

    [Fact]
    public async Task Past_the_connection_limit_a_malformed_hello_gets_its_error_not_busy()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("small", configure: o => o.MaxConnections = 1);
        await using var first = await NodeClient.ConnectAsync(node.Endpoint);
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        await raw.SendAsync(HelloBytes(2, Guid.Empty, "127.0.0.1:1", "p"));
        var (messages, _) = await raw.ReadUntilClosedAsync(Wait);

        Assert.Equal(ProtocolError.MalformedFrame, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
    }

    // The Hello is typed object: the wire messages are internal to the engine, and a public test method cannot name them.
    public static TheoryData<string, object, byte[], ProtocolError> AfterHandshake() => new()
    {
        // The place of a code is judged from the header, before its payload: a broken payload of a misplaced code is 105.
        { "a Hello again, with no payload", RawConnection.ClientHello(), [(byte)MessageCode.Hello, 0, 0, 0, 0, 0], ProtocolError.UnexpectedMessage },
        { "a Welcome from the dialer, with no payload", RawConnection.ClientHello(), [(byte)MessageCode.Welcome, 0, 0, 0, 0, 0], ProtocolError.UnexpectedMessage },
        { "a Query on a client connection, with no payload", RawConnection.ClientHello(), [(byte)MessageCode.Query, 0, 0, 0, 0, 0], ProtocolError.UnexpectedMessage },
        { "a PieceRequest on a peer link, with no payload", RawConnection.PeerHello(RawConnection.NewId()), [(byte)MessageCode.PieceRequest, 0, 0, 0, 0, 0], ProtocolError.UnexpectedMessage },
        { "a Search on a peer link, with no payload", RawConnection.PeerHello(RawConnection.NewId()), [(byte)MessageCode.Search, 0, 0, 0, 0, 0], ProtocolError.UnexpectedMessage },
        // A code the connection takes, with a payload that breaks its fields, is 100.
        { "a Status with availability 3", RawConnection.ClientHello(), [(byte)MessageCode.Status, 0, 0, 0, 0, 1, 3], ProtocolError.MalformedFrame },
        { "a Status with availability 255 on a peer link", RawConnection.PeerHello(RawConnection.NewId()), [(byte)MessageCode.Status, 0, 0, 0, 0, 1, 255], ProtocolError.MalformedFrame },
        { "a PieceRequest without its piece", RawConnection.ClientHello(), [(byte)MessageCode.PieceRequest, 0, 0, 0, 0, 36, .. new byte[36]], ProtocolError.MalformedFrame },
    };

    [Theory]
    [MemberData(nameof(AfterHandshake))]
    public async Task After_the_handshake_each_violation_gets_its_defined_code(string what, object theHello, byte[] bytes, ProtocolError expected)
    {
        var hello = (Hello)theHello;
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, hello);

        await raw.SendAsync(bytes);
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed, $"{what}: the node should close the connection");
        var error = Assert.IsType<ErrorMessage>(messages.Last());
        Assert.True(expected == error.Error, $"{what}: expected {expected}, got {error.Error} ({error.Message})");
    }

    [Fact]
    public async Task A_bad_frame_after_the_handshake_closes_that_connection_with_an_error()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        // A Ping without its nonce.
        await raw.SendAsync([(byte)MessageCode.Ping, 0, 0, 0, 0, 0]);
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        Assert.Equal(ProtocolError.MalformedFrame, Assert.IsType<ErrorMessage>(messages.Last()).Error);
        Assert.True(await Eventually.TrueAsync(() => node.Counters.ProtocolErrors == 1, Wait));
    }

    [Fact]
    public async Task An_error_below_100_after_the_handshake_is_ignored_and_keeps_the_connection()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new ErrorMessage(ProtocolError.NodeBusy, "not now"));
        await raw.SendAsync(new Ping(77));

        var reply = await raw.ReadFramesAsync(2, Wait);
        Assert.Equal(new Pong(77), reply[1]);
    }

    [Fact]
    public async Task A_remote_that_does_not_read_is_closed_with_SendQueueFull()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), receiveBuffer: 4096);

        // Pings whose Pongs are never read, until the node gives up on this connection (bounded: 2,000 batches).
        var batch = Enumerable.Range(0, 1000).SelectMany(i => FrameCodec.ToArray(new Ping((ulong)i))).ToArray();
        for (int i = 0; i < 2000 && node.ConnectionCount > 0; i++)
        {
            try
            {
                await raw.SendAsync(batch);
            }
            catch (System.Net.Sockets.SocketException)
            {
                break;
            }
        }

        Assert.True(await Eventually.TrueAsync(() => node.ConnectionCount == 0, Wait));
        var (messages, _) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ProtocolError.SendQueueFull, Assert.IsType<ErrorMessage>(messages.Last()).Error);
        Assert.Equal(1, node.Counters.ProtocolErrors);
    }

    [Fact]
    public async Task A_truncated_frame_at_end_of_stream_is_counted_and_closed()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.OpenAsync(node.Endpoint);
        var hello = FrameCodec.ToArray(RawConnection.ClientHello());

        await raw.SendAsync(hello[..^3]);
        raw.ShutdownSend();
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        Assert.Equal(ProtocolError.TruncatedFrame, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
        Assert.True(await Eventually.TrueAsync(() => node.Counters.HandshakesFailed == 1, Wait));
    }

    [Fact]
    public async Task A_slow_sender_is_cut_off_at_the_handshake_timeout()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard", configure: o => o.HandshakeTimeout = TimeSpan.FromSeconds(1));
        using var raw = await RawConnection.OpenAsync(node.Endpoint);
        var hello = FrameCodec.ToArray(RawConnection.ClientHello());

        // One byte every 200 ms: the whole Hello would take several seconds. Stop once the node answers.
        for (int i = 0; i < hello.Length && !raw.HasIncomingError(); i++)
        {
            await raw.SendAsync(hello[i..(i + 1)]);
            await Task.Delay(200);
        }

        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);
        Assert.True(closed);
        Assert.Equal(ProtocolError.HandshakeTimeout, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
    }

    [Fact]
    public async Task A_slow_sender_after_the_handshake_gets_a_keep_alive_error_and_a_closed_connection()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard", configure: TestNodes.FastKeepAlive);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var ping = FrameCodec.ToArray(new Ping(1));

        // One byte of a frame every 300 ms: never a whole frame, so never an answer to the node's ping.
        for (int i = 0; i < ping.Length && !raw.HasIncomingError(); i++)
        {
            await raw.SendAsync(ping[i..(i + 1)]);
            await Task.Delay(300);
        }

        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);
        Assert.True(closed);
        Assert.Equal(ProtocolError.KeepAliveTimeout, Assert.IsType<ErrorMessage>(messages.Last()).Error);
    }

    [Fact]
    public async Task A_connection_that_never_speaks_is_cut_off_at_the_handshake_timeout()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard", configure: o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(500));
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);
        Assert.True(closed);
        Assert.Equal(ProtocolError.HandshakeTimeout, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
    }

    [Fact]
    public async Task Past_the_connection_limit_new_connections_are_told_busy()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("small", configure: o => o.MaxConnections = 1);
        await using var first = await NodeClient.ConnectAsync(node.Endpoint);

        var error = await Assert.ThrowsAsync<NodeUnavailableException>(() => NodeClient.ConnectAsync(node.Endpoint));
        Assert.Equal(ProtocolError.NodeBusy, error.Code);
        Assert.Contains("busy", error.Message);
        await first.PingAsync(Wait);
    }

    [Fact]
    public async Task Past_the_connection_limit_a_dialer_that_says_nothing_gets_HandshakeTimeout_after_1_s_not_the_handshake_timeout()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("small", configure: o =>
        {
            o.MaxConnections = 1;
            o.HandshakeTimeout = TimeSpan.FromSeconds(60);
        });
        await using var first = await NodeClient.ConnectAsync(node.Endpoint);
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        // Bounded well below the 60 s handshake timeout: only the 1 s given a dialer over the limit can close it in time.
        var (messages, closed) = await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(30));

        Assert.True(closed);
        Assert.Equal(ProtocolError.HandshakeTimeout, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
        await first.PingAsync(Wait);
    }

    [Fact]
    public async Task Connections_that_never_say_hello_count_against_the_limit_until_they_are_cut_off()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("flooded", configure: o =>
        {
            o.MaxConnections = 3;
            o.HandshakeTimeout = TimeSpan.FromSeconds(1);
        });
        var silent = new List<RawConnection>();
        for (int i = 0; i < 3; i++)
        {
            silent.Add(await RawConnection.OpenAsync(node.Endpoint));
        }

        try
        {
            Assert.True(await Eventually.TrueAsync(() => node.InboundConnections == 3, Wait));
            var busy = await Assert.ThrowsAsync<NodeUnavailableException>(() => NodeClient.ConnectAsync(node.Endpoint));
            Assert.Equal(ProtocolError.NodeBusy, busy.Code);

            // Once the silent ones hit the handshake timeout (and the close that follows), their places are free again.
            Assert.True(await Eventually.TrueAsync(() => node.Counters.HandshakesFailed >= 3 && node.InboundConnections == 0, Wait));
            await using var client = await NodeClient.ConnectAsync(node.Endpoint);
            await client.PingAsync(Wait);
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Ten_thousand_random_and_mutated_frames_leave_the_node_serving()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("target", host: 1, o =>
        {
            o.HandshakeTimeout = TimeSpan.FromSeconds(1);
            // The fuzz comes from one address: its limits per source are lifted, so every frame reaches the node.
            o.ConnectsPerMinutePerAddress = 1_000_000;
            o.MaxClientsPerAddress = 10_000;
            o.MaxPeersPerAddress = 10_000;
            o.MaxPeersPerSubnet = 10_000;
        });
        var friend = await nodes.StartAsync("friend", host: 2);
        await friend.ConnectPeerAsync(node.Endpoint);
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);

        var random = new Random(20261125);
        IMessage[] valid =
        [
            RawConnection.ClientHello(),
            RawConnection.PeerHello(RawConnection.NewId()),
            new Ping(1), new Pong(2), new Status(NodeAvailability.Closing),
            new Bye(ProtocolError.Shutdown, "bye"), new ErrorMessage(ProtocolError.MalformedFrame, "x"),
            Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "h:1", "w"),
        ];

        const int FramesPerConnection = 10;
        const int Connections = 1100;
        int sent = 0; // frames whose bytes the socket accepted
        for (int batch = 0; batch < Connections; batch += 25)
        {
            var work = Enumerable.Range(0, 25).Select(_ =>
            {
                // Half the connections first complete a real handshake, so the post-handshake parser is fuzzed too.
                bool handshake = random.Next(2) == 0;
                var frames = new List<byte>();
                if (handshake)
                {
                    frames.AddRange(FrameCodec.ToArray(RawConnection.ClientHello()));
                }

                for (int i = 0; i < FramesPerConnection; i++)
                {
                    frames.AddRange(FuzzFrame(random, valid));
                }

                return (Bytes: frames.ToArray(), Frames: FramesPerConnection, Abort: random.Next(4) == 0);
            }).ToList();

            await Task.WhenAll(work.Select(async w =>
            {
                using var raw = await RawConnection.OpenAsync(node.Endpoint);
                try
                {
                    await raw.SendAsync(w.Bytes);
                    Interlocked.Add(ref sent, w.Frames);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // The node may close before it has read everything: that is the point. These frames do not count.
                }

                if (w.Abort)
                {
                    raw.Abort();
                    return;
                }

                try
                {
                    raw.ShutdownSend();
                }
                catch (System.Net.Sockets.SocketException)
                {
                }

                await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(3));
            }));
        }

        Assert.True(sent >= 10_000);
        // Both tiers were really exercised: refused handshakes and sessions closed for a bad frame.
        Assert.True(node.Counters.HandshakesFailed > Connections / 4, $"{node.Counters.HandshakesFailed} handshakes failed");
        Assert.True(await Eventually.TrueAsync(() => node.Counters.ProtocolErrors > Connections / 10, Wait), $"{node.Counters.ProtocolErrors} protocol errors");
        await using var after = await NodeClient.ConnectAsync(node.Endpoint);
        Assert.Equal(node.Id, after.RemoteId);
        await after.PingAsync(Wait);
        await bystander.PingAsync(Wait);
        Assert.Single(friend.GetPeers());
        Assert.Equal(NodeStatus.Running, node.Status);
        Assert.DoesNotContain(node.Log.Recent(), e => e.Level == NodeLogLevel.Error);
        Assert.True(await Eventually.TrueAsync(() => node.ConnectionCount <= 3, TimeSpan.FromSeconds(10)), $"{node.ConnectionCount} connections still open");
    }

    private static byte[] FuzzFrame(Random random, IMessage[] valid)
    {
        switch (random.Next(4))
        {
            case 0:
                // Pure noise of random length.
                var noise = new byte[random.Next(1, 64)];
                random.NextBytes(noise);
                return noise;
            case 1:
                // A valid header of a known code with a random length and random body.
                var body = new byte[random.Next(0, 48)];
                random.NextBytes(body);
                var header = new byte[6];
                header[0] = (byte)random.Next(1, 8);
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2), (uint)(random.Next(3) == 0 ? random.Next() : body.Length));
                return [.. header, .. body];
            default:
                // A valid frame with one to three bytes flipped, or cut short.
                var frame = FrameCodec.ToArray(valid[random.Next(valid.Length)]);
                int flips = random.Next(1, 4);
                for (int i = 0; i < flips; i++)
                {
                    frame[random.Next(frame.Length)] ^= (byte)random.Next(1, 256);
                }

                return random.Next(5) == 0 ? frame[..random.Next(frame.Length)] : frame;
        }
    }
}
