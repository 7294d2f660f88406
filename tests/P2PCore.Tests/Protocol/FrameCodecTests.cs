using System.Buffers;
using System.Buffers.Binary;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Protocol;

public class FrameCodecTests
{
    // Theory arguments are typed object: the wire messages are internal to the engine, and a public test method cannot name them.
    public static TheoryData<object> EveryMessage() => new(AllMessages);

    private static readonly IMessage[] AllMessages =
    [
        Hello.Create(ConnectionRole.Peer, Guid.NewGuid(), "127.0.0.1:47100", "node-a"),
        Hello.Create(ConnectionRole.Client, Guid.Empty, "", ""),
        Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "[::1]:47100", "n1"),
        Welcome.Create(NodeAvailability.Closing, Guid.NewGuid(), "host:1", "n2"),
        Welcome.Create(NodeAvailability.Busy, Guid.NewGuid(), "host:1", "n3"),
        Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "host:1", "n4", Bytes32.Random()),
        new MembershipProof(Bytes32.Random()),
        new Ping(0),
        new Ping(ulong.MaxValue),
        new Pong(42),
        new Status(NodeAvailability.Closing),
        new Bye(ProtocolError.Shutdown, "node n1 (127.0.0.1:1) is shutting down"),
        new Bye(ProtocolError.None, "fertig ✓ — 終わり 🎉"),
        new ErrorMessage(ProtocolError.FrameTooLarge, "too large"),
        new ErrorMessage(ProtocolError.DuplicateLink, ""),
    ];

    [Theory]
    [MemberData(nameof(EveryMessage))]
    public void Every_message_round_trips_through_its_frame(object theMessage)
    {
        var message = (IMessage)theMessage;
        var sequence = new ReadOnlySequence<byte>(FrameCodec.ToArray(message));

        Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
        Assert.Equal(message, MessageDecoder.Decode(frame));
        Assert.Equal(message.Code, frame.Code);
        Assert.True(sequence.IsEmpty);
    }

    [Fact]
    public void Frames_split_across_segments_at_every_byte_parse_the_same()
    {
        var messages = AllMessages;
        var bytes = messages.SelectMany(FrameCodec.ToArray).ToArray();

        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            var sequence = Segment.Split(bytes, cut, cut + 1, cut + 7);
            var parsed = new List<IMessage>();
            while (FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame))
            {
                parsed.Add(MessageDecoder.Decode(frame));
            }

            Assert.Equal(messages, parsed);
            Assert.True(sequence.IsEmpty);
        }
    }

    [Fact]
    public void A_partial_frame_asks_for_more_bytes_and_consumes_nothing()
    {
        var bytes = FrameCodec.ToArray(new Bye(ProtocolError.Shutdown, "bye"));
        for (int length = 0; length < bytes.Length; length++)
        {
            var sequence = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.False(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _));
            Assert.Equal(length, sequence.Length);
        }
    }

    [Fact]
    public void An_oversized_length_is_refused_from_the_header_alone()
    {
        var header = new byte[ProtocolLimits.FrameHeaderLength];
        header[0] = (byte)MessageCode.Ping;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2), uint.MaxValue);
        var sequence = new ReadOnlySequence<byte>(header);

        var error = Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _));
        Assert.Equal(ProtocolError.FrameTooLarge, error.Code);
    }

    [Theory]
    [InlineData(MessageCode.Ping, 9)]
    [InlineData(MessageCode.Status, 2)]
    [InlineData(MessageCode.Bye, 2 + 2 + ProtocolLimits.MaxMessageBytes + 1)]
    [InlineData(MessageCode.Hello, 400)]
    public void Each_code_has_its_own_payload_limit_checked_from_the_header(object theCode, uint length)
    {
        var code = (MessageCode)theCode;
        var header = new byte[ProtocolLimits.FrameHeaderLength];
        header[0] = (byte)code;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2), length);
        var sequence = new ReadOnlySequence<byte>(header);

        Assert.Equal(ProtocolError.FrameTooLarge, Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _)).Code);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x09)]
    [InlineData(0x24)]
    [InlineData(0x45)]
    [InlineData(0xFF)]
    public void Unknown_codes_are_refused(byte code)
    {
        var sequence = new ReadOnlySequence<byte>([code, 0, 0, 0, 0, 0]);
        Assert.Equal(ProtocolError.UnknownCode, Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _)).Code);
    }

    [Fact]
    public void Non_zero_flags_are_refused()
    {
        var bytes = FrameCodec.ToArray(new Ping(1));
        bytes[1] = 0x80;
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(ProtocolError.ReservedFlags, Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _)).Code);
    }

    [Fact]
    public void An_optional_frame_of_an_unknown_code_is_skipped_whole_however_the_bytes_are_split()
    {
        byte[] optional = [0x3E, ProtocolLimits.OptionalFlag, 0, 0, 0, 3, 0xAA, 0xBB, 0xCC];
        byte[] bytes = [.. optional, .. FrameCodec.ToArray(new Ping(9))];
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            // Everything up to the cut has arrived: a frame is read only once it is whole, the optional one never.
            var arrived = Segment.Split(bytes[..cut], cut / 2);
            bool read = FrameCodec.TryReadFrame(ref arrived, ProtocolLimits.MaxPayload, out var frame);
            Assert.Equal(cut == bytes.Length, read);
            if (read)
            {
                Assert.Equal(new Ping(9), MessageDecoder.Decode(frame));
                Assert.True(arrived.IsEmpty);
            }
        }
    }

    [Fact]
    public void An_unknown_code_with_other_flags_is_UnknownCode_and_a_known_code_with_the_optional_bit_is_read()
    {
        var unknown = new ReadOnlySequence<byte>(new byte[] { 0x3E, 0x03, 0, 0, 0, 0 });
        Assert.Equal(ProtocolError.UnknownCode, Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref unknown, ProtocolLimits.MaxPayload, out _)).Code);

        var ping = FrameCodec.ToArray(new Ping(4));
        ping[1] = ProtocolLimits.OptionalFlag;
        var known = new ReadOnlySequence<byte>(ping);
        Assert.True(FrameCodec.TryReadFrame(ref known, ProtocolLimits.MaxPayload, out var frame));
        Assert.Equal(new Ping(4), MessageDecoder.Decode(frame));
    }

    [Fact]
    public void Another_protocol_version_is_refused_with_UnsupportedVersion()
    {
        var bytes = FrameCodec.ToArray(Hello.Create(ConnectionRole.Peer, Guid.NewGuid(), "h:1", "n") with { MinVersion = 3, MaxVersion = 3 });
        Assert.Equal(ProtocolError.UnsupportedVersion, DecodeError(bytes));

        var welcome = FrameCodec.ToArray(Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "h:1", "n") with { Version = 7 });
        Assert.Equal(ProtocolError.UnsupportedVersion, DecodeError(welcome));
    }

    [Fact]
    public void A_hello_without_the_magic_is_refused_with_BadMagic()
    {
        var bytes = FrameCodec.ToArray(RawConnection.ClientHello());
        bytes[ProtocolLimits.FrameHeaderLength] ^= 0xFF;
        Assert.Equal(ProtocolError.BadMagic, DecodeError(bytes));
    }

    [Fact]
    public void Payloads_shorter_or_longer_than_their_fields_are_malformed()
    {
        var ping = FrameCodec.ToArray(new Ping(5));

        var shorter = ping[..^1];
        BinaryPrimitives.WriteUInt32BigEndian(shorter.AsSpan(2), 7);
        Assert.Equal(ProtocolError.MalformedFrame, DecodeError(shorter));

        var bye = FrameCodec.ToArray(new Bye(ProtocolError.Shutdown, "x"));
        byte[] longer = [.. bye, 0];
        BinaryPrimitives.WriteUInt32BigEndian(longer.AsSpan(2), (uint)(longer.Length - ProtocolLimits.FrameHeaderLength));
        Assert.Equal(ProtocolError.MalformedFrame, DecodeError(longer));
    }

    [Fact]
    public void Strings_must_be_valid_utf8_and_within_their_limit()
    {
        var bye = FrameCodec.ToArray(new Bye(ProtocolError.None, "abc"));
        bye[^1] = 0xFF;
        Assert.Equal(ProtocolError.MalformedFrame, DecodeError(bye));

        var longName = FrameCodec.ToArray(Hello.Create(ConnectionRole.Client, Guid.Empty, "", new string('x', ProtocolLimits.MaxNameBytes + 1)));
        Assert.Equal(ProtocolError.MalformedFrame, DecodeError(longName));
    }

    [Fact]
    public void A_refused_name_or_endpoint_appears_in_the_error_with_its_control_characters_escaped()
    {
        const string name = "evil\u001b[2J\nline";
        foreach (var message in new IMessage[]
        {
            Hello.Create(ConnectionRole.Client, Guid.Empty, "", name),
            Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "h:1", name),
            Hello.Create(ConnectionRole.Client, Guid.Empty, "h\r:1", ""),
            Welcome.Create(NodeAvailability.Available, Guid.NewGuid(), "h\r:1", "n"),
        })
        {
            var sequence = new ReadOnlySequence<byte>(FrameCodec.ToArray(message));
            var error = Assert.Throws<ProtocolException>(() =>
            {
                Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
                MessageDecoder.Decode(frame);
            });
            Assert.DoesNotContain(error.Message, char.IsControl);
            Assert.True(error.Message.Contains("evil\\u001b[2J\\u000aline") || error.Message.Contains("h\\u000d:1"), error.Message);
        }
    }

    [Fact]
    public void Unknown_enum_values_are_malformed()
    {
        var status = FrameCodec.ToArray(new Status(NodeAvailability.Available));
        status[^1] = 9;
        Assert.Equal(ProtocolError.MalformedFrame, DecodeError(status));
    }

    [Fact]
    public void Long_messages_are_cut_to_the_limit_on_a_character_boundary()
    {
        var bye = Bye.Create(ProtocolError.Shutdown, new string('é', 2000));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(bye.Message) <= ProtocolLimits.MaxMessageBytes);
        var sequence = new ReadOnlySequence<byte>(FrameCodec.ToArray(bye));
        Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
        Assert.Equal(bye, MessageDecoder.Decode(frame));
    }

    private static ProtocolError DecodeError(byte[] bytes)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        var error = Assert.Throws<ProtocolException>(() =>
        {
            Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
            MessageDecoder.Decode(frame);
        });
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        return error.Code;
    }
}
