using System.Buffers.Binary;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Net;

/// <summary>Protocol 2's Hello and Welcome: versions, the ids TLS proves, and optional frames.</summary>
public class HandshakeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(1, 5, 2, 4, (ushort)4)]
    [InlineData(1, 3, 2, 4, (ushort)3)]
    [InlineData(3, 3, 2, 4, (ushort)3)]
    [InlineData(2, 2, 2, 2, (ushort)2)]
    [InlineData(5, 6, 2, 4, null)]
    [InlineData(1, 1, 2, 4, null)]
    [InlineData(4, 3, 2, 4, null)]
    public void Negotiation_picks_the_highest_version_both_sides_speak(int min, int max, int ownMin, int ownMax, ushort? chosen)
    {
        Assert.Equal(chosen, ProtocolLimits.Negotiate((ushort)min, (ushort)max, (ushort)ownMin, (ushort)ownMax));
    }

    [Fact]
    public async Task A_hello_offering_a_range_gets_a_welcome_with_the_highest_common_version_and_one_without_it_UnsupportedVersion()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");

        using var wide = await RawConnection.OpenAsync(node.Endpoint);
        await wide.SendAsync(RawConnection.ClientHello() with { MinVersion = 1, MaxVersion = 9 });
        var welcome = Assert.IsType<Welcome>(await wide.ReadFrameAsync(Wait));
        Assert.Equal(ProtocolLimits.MaxVersion, welcome.Version);

        using var later = await RawConnection.OpenAsync(node.Endpoint);
        await later.SendAsync(RawConnection.ClientHello() with { MinVersion = ProtocolLimits.MaxVersion + 1, MaxVersion = 9 });
        var (messages, closed) = await later.ReadUntilClosedAsync(Wait);
        Assert.True(closed);
        Assert.Equal(ProtocolError.UnsupportedVersion, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
    }

    [Fact]
    public async Task A_hello_whose_node_id_is_not_the_one_its_certificate_proves_is_refused_IdentityMismatch()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        // Another key's id, over a connection that proves the client key.
        await raw.SendAsync(RawConnection.PeerHello(RawConnection.NewId()));
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        var error = Assert.IsType<ErrorMessage>(Assert.Single(messages));
        Assert.Equal(ProtocolError.IdentityMismatch, error.Error);
        Assert.Contains("certificate proves node", error.Message);
        Assert.Equal(0, node.PeerCount);
    }

    [Fact]
    public async Task A_client_hello_with_a_zero_node_id_is_refused_IdentityMismatch()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        await raw.SendAsync(RawConnection.ClientHello() with { NodeId = Guid.Empty });
        var (messages, _) = await raw.ReadUntilClosedAsync(Wait);

        Assert.Equal(ProtocolError.IdentityMismatch, Assert.IsType<ErrorMessage>(Assert.Single(messages)).Error);
    }

    [Fact]
    public async Task An_unknown_optional_frame_is_read_and_ignored_before_the_hello_and_after_the_handshake()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");
        using var raw = await RawConnection.OpenAsync(node.Endpoint);

        await raw.SendAsync(OptionalFrame(0x3E, 100));
        await raw.SendAsync(RawConnection.ClientHello());
        Assert.IsType<Welcome>(await raw.ReadFrameAsync(Wait));
        await raw.SendAsync([.. OptionalFrame(0x7F, ProtocolLimits.MaxUnknownOptionalPayload), .. FrameCodec.ToArray(new Ping(7))]);

        Assert.Equal(new Pong(7), (await raw.ReadFramesAsync(2, Wait))[1]);
        Assert.Equal(0, node.Counters.ProtocolErrors);
    }

    [Fact]
    public async Task An_unknown_required_frame_is_refused_UnknownCode_and_an_optional_one_beyond_its_limit_FrameTooLarge()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("server");

        using var required = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var frame = OptionalFrame(0x3E, 10);
        frame[1] = 0;
        await required.SendAsync(frame);
        var (messages, _) = await required.ReadUntilClosedAsync(Wait);
        Assert.Equal(ProtocolError.UnknownCode, Assert.IsType<ErrorMessage>(messages.Last()).Error);

        using var large = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await large.SendAsync(OptionalFrame(0x3E, ProtocolLimits.MaxUnknownOptionalPayload + 1)[..ProtocolLimits.FrameHeaderLength]);
        (messages, _) = await large.ReadUntilClosedAsync(Wait);
        Assert.Equal(ProtocolError.FrameTooLarge, Assert.IsType<ErrorMessage>(messages.Last()).Error);
    }

    /// <summary>A frame of a code this version does not define, with the optional bit, and <paramref name="length"/> bytes of payload.</summary>
    private static byte[] OptionalFrame(byte code, int length)
    {
        var frame = new byte[ProtocolLimits.FrameHeaderLength + length];
        frame[0] = code;
        frame[1] = ProtocolLimits.OptionalFlag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(2), (uint)length);
        new Random(length).NextBytes(frame.AsSpan(ProtocolLimits.FrameHeaderLength));
        return frame;
    }
}
