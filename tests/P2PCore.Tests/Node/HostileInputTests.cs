using System.Buffers.Binary;
using P2PTransfer.Client;
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
        var versionTwo = FrameCodec.ToArray(new Hello(2, ConnectionRole.Peer, Guid.NewGuid(), "h:1", "v2"));
        var oversized = FrameCodec.ToArray(RawConnection.ClientHello());
        BinaryPrimitives.WriteUInt32BigEndian(oversized.AsSpan(2), 100_000_000);
        var badMagic = FrameCodec.ToArray(RawConnection.ClientHello());
        badMagic[6] = (byte)'X';
        return new TheoryData<string, byte[], ProtocolError>
        {
            { "garbage", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), ProtocolError.UnknownCode },
            { "wrong version", versionTwo, ProtocolError.UnsupportedVersion },
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

    [Fact]
    public async Task A_bad_frame_after_the_handshake_closes_that_connection_with_an_error()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("guard");
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync([(byte)MessageCode.Hello, 0, 0, 0, 0, 0]);
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        Assert.Equal(ProtocolError.MalformedFrame, Assert.IsType<ErrorMessage>(messages.Last()).Error);
        Assert.True(await Eventually.TrueAsync(() => node.Counters.ProtocolErrors == 1, Wait));
    }

    [Fact]
    public async Task An_error_below_100_refuses_one_request_and_keeps_the_connection()
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
        var node = await nodes.StartAsync("target", host: 1, o => o.HandshakeTimeout = TimeSpan.FromSeconds(1));
        var friend = await nodes.StartAsync("friend", host: 2);
        await friend.ConnectPeerAsync(node.Endpoint);
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);

        var random = new Random(20261125);
        IMessage[] valid =
        [
            RawConnection.ClientHello(),
            RawConnection.PeerHello(Guid.NewGuid()),
            new Ping(1), new Pong(2), new Status(NodeAvailability.Closing),
            new Bye(ProtocolError.Shutdown, "bye"), new ErrorMessage(ProtocolError.MalformedFrame, "x"),
            new Welcome(ProtocolLimits.Version, NodeAvailability.Available, Guid.NewGuid(), "h:1", "w"),
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
