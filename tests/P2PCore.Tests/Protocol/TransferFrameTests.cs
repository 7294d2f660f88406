using System.Buffers;
using System.Buffers.Binary;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;

namespace P2PTransfer.Tests.Protocol;

/// <summary>The transfer frames (0x40-0x44) survive the wire byte for byte, fit their limits, and bad ones are refused.</summary>
public class TransferFrameTests
{
    private const int Header = ProtocolLimits.FrameHeaderLength;

    private static readonly byte[] Hash = [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 1))];

    private static byte[] Hashes(int count) => [.. Enumerable.Range(0, count * 32).Select(i => (byte)(i * 31 + 3))];

    private static byte[] Bytes(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 13 + 5))];

    // Theory arguments are typed object: the wire messages are internal to the engine, and a public test method cannot name them.
    public static TheoryData<string, object> Messages() => new()
    {
        { "piece list request", new PieceListRequest(7, Hash, 0) },
        { "piece list request, last ids", new PieceListRequest(uint.MaxValue, Hash, uint.MaxValue) },
        { "piece list, empty file", new PieceList(1, 0, 0, []) },
        { "piece list, three pieces", new PieceList(2, (2L * TransferLimits.PieceSize) + 5, 0, Hashes(3)) },
        { "piece list, a later page", new PieceList(3, long.MaxValue, 16384, Hashes(5)) },
        { "piece list, a full page", new PieceList(4, 40L * 1024 * 1024 * 1024, 0, Hashes(TransferLimits.MaxPieceHashesPerFrame)) },
        { "piece request", new PieceRequest(9, Hash, 0) },
        { "piece request, last piece number", new PieceRequest(uint.MaxValue, Hash, uint.MaxValue) },
        { "piece data, empty", PieceData.FromBytes(1, 0, []) },
        { "piece data, one byte", PieceData.FromBytes(2, 5, [0xAB]) },
        { "piece data, a short last piece", PieceData.FromBytes(3, 4, Bytes(12345)) },
        { "piece data, a whole piece", PieceData.FromBytes(4, 1, Bytes(TransferLimits.PieceSize)) },
        { "refused, unknown file", TransferRefused.Create(5, ProtocolError.UnknownFile, "no file with this hash") },
        { "refused, busy, empty message", TransferRefused.Create(6, ProtocolError.NodeBusy, "") },
        { "refused, non-ASCII message", TransferRefused.Create(7, ProtocolError.FileChanged, "fichier modifié: ñ 文件 🙂") },
        { "refused, longest message", TransferRefused.Create(8, ProtocolError.PieceOutOfRange, new string('m', ProtocolLimits.MaxMessageBytes)) },
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_transfer_frame_decodes_to_what_was_encoded_and_fits_its_code_limit(string what, object theMessage)
    {
        var message = (IMessage)theMessage;
        var bytes = FrameCodec.ToArray(message);
        var decoded = Decode(bytes);

        Assert.Equal(message.GetType(), decoded.GetType());
        Assert.Equal(message.Code, decoded.Code);
        Assert.True(bytes.AsSpan().SequenceEqual(FrameCodec.ToArray(decoded)), $"{what}: re-encoded bytes differ");
        Assert.True(bytes.Length - Header <= ProtocolLimits.MaxPayloadFor(message.Code), $"{what} is within its code's limit");
        Assert.True(bytes.Length - Header <= ProtocolLimits.MaxPayload, $"{what} is within the protocol's largest payload");
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_transfer_frame_decodes_the_same_when_split_across_buffer_segments(string what, object theMessage)
    {
        var message = (IMessage)theMessage;
        var bytes = FrameCodec.ToArray(message);
        var split = Segment.Split(bytes, 1, Header + 1, Header + 5, Header + 37, bytes.Length / 2, bytes.Length - 1);
        Assert.True(FrameCodec.TryReadFrame(ref split, ProtocolLimits.MaxPayload, out var frame), what);

        Assert.True(bytes.AsSpan().SequenceEqual(FrameCodec.ToArray(MessageDecoder.Decode(frame))), what);
        Assert.Equal(0, split.Length);
    }

    [Fact]
    public void The_codes_are_the_ones_the_protocol_reserves_for_transfers()
    {
        Assert.Equal(0x40, (byte)MessageCode.PieceListRequest);
        Assert.Equal(0x41, (byte)MessageCode.PieceList);
        Assert.Equal(0x42, (byte)MessageCode.PieceRequest);
        Assert.Equal(0x43, (byte)MessageCode.PieceData);
        Assert.Equal(0x44, (byte)MessageCode.TransferRefused);
    }

    [Fact]
    public void The_largest_frames_are_exactly_the_documented_limits()
    {
        Assert.Equal(40, ProtocolLimits.MaxPayloadFor(MessageCode.PieceListRequest));
        Assert.Equal(40, ProtocolLimits.MaxPayloadFor(MessageCode.PieceRequest));
        Assert.Equal(524_308, ProtocolLimits.MaxPayloadFor(MessageCode.PieceList));
        Assert.Equal(1_048_584, ProtocolLimits.MaxPayloadFor(MessageCode.PieceData));
        Assert.Equal(1_032, ProtocolLimits.MaxPayloadFor(MessageCode.TransferRefused));
        Assert.Equal(ProtocolLimits.MaxPayload, ProtocolLimits.MaxPayloadFor(MessageCode.PieceData));

        Assert.Equal(524_308, new PieceList(1, 1, 0, Hashes(TransferLimits.MaxPieceHashesPerFrame)).PayloadLength);
        Assert.Equal(1_048_584, PieceData.FromBytes(1, 0, Bytes(TransferLimits.PieceSize)).PayloadLength);
        Assert.Equal(1_032, TransferRefused.Create(1, ProtocolError.NodeBusy, new string('x', 5000)).PayloadLength);
    }

    [Fact]
    public void The_fields_are_laid_out_big_endian_in_the_documented_order()
    {
        var request = FrameCodec.ToArray(new PieceRequest(0x01020304, Hash, 0x0A0B0C0D));
        Assert.Equal([0x42, 0, 0, 0, 0, 40], request[..Header]);
        Assert.Equal([1, 2, 3, 4], request[Header..(Header + 4)]);
        Assert.Equal(Hash, request[(Header + 4)..(Header + 36)]);
        Assert.Equal([0x0A, 0x0B, 0x0C, 0x0D], request[(Header + 36)..]);

        var list = FrameCodec.ToArray(new PieceList(5, 0x0102030405060708, 9, Hashes(2)));
        Assert.Equal(0x41, list[0]);
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32BigEndian(list.AsSpan(Header)));
        Assert.Equal(0x0102030405060708UL, BinaryPrimitives.ReadUInt64BigEndian(list.AsSpan(Header + 4)));
        Assert.Equal(9u, BinaryPrimitives.ReadUInt32BigEndian(list.AsSpan(Header + 12)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(list.AsSpan(Header + 16)));
        Assert.Equal(Hashes(2), list[(Header + 20)..]);

        var data = FrameCodec.ToArray(PieceData.FromBytes(6, 7, [1, 2, 3]));
        Assert.Equal([0x43, 0, 0, 0, 0, 11, 0, 0, 0, 6, 0, 0, 0, 7, 1, 2, 3], data);

        var refused = FrameCodec.ToArray(TransferRefused.Create(8, ProtocolError.PieceOutOfRange, "ab"));
        Assert.Equal([0x44, 0, 0, 0, 0, 10, 0, 0, 0, 8, 0, 13, 0, 2, (byte)'a', (byte)'b'], refused);
    }

    [Fact]
    public void Decoded_fields_equal_the_encoded_ones()
    {
        var list = (PieceList)Decode(FrameCodec.ToArray(new PieceList(3, 12_345_678_901, 16384, Hashes(4))));
        Assert.Equal((3u, 12_345_678_901L, 16384u, 4), (list.RequestId, list.Size, list.FirstPiece, list.Count));
        Assert.Equal(Hashes(4), list.Hashes);

        var request = (PieceRequest)Decode(FrameCodec.ToArray(new PieceRequest(4, Hash, 77)));
        Assert.Equal((4u, 77u), (request.RequestId, request.Piece));
        Assert.Equal(Hash, request.Hash);

        var listRequest = (PieceListRequest)Decode(FrameCodec.ToArray(new PieceListRequest(5, Hash, 16384)));
        Assert.Equal((5u, 16384u), (listRequest.RequestId, listRequest.FirstPiece));
        Assert.Equal(Hash, listRequest.Hash);

        var content = Bytes(70_000);
        var data = (PieceData)Decode(FrameCodec.ToArray(PieceData.FromBytes(6, 2, content)));
        Assert.Equal((6u, 2u, 70_000), (data.RequestId, data.Piece, data.Length));
        Assert.True(data.Data.Span.SequenceEqual(content));
        data.Release();
        Assert.Throws<ObjectDisposedException>(() => data.Data);
        data.Release();

        var refused = (TransferRefused)Decode(FrameCodec.ToArray(TransferRefused.Create(7, ProtocolError.FileChanged, "changed")));
        Assert.Equal((7u, ProtocolError.FileChanged, "changed"), (refused.RequestId, refused.Reason, refused.Message));
    }

    [Fact]
    public void A_piece_being_sent_is_filled_straight_into_the_frame()
    {
        int calls = 0;
        var piece = PieceData.ToSend(11, 3, 5, destination =>
        {
            calls++;
            Assert.Equal(5, destination.Length);
            destination.Fill(0x5A);
        });

        var bytes = FrameCodec.ToArray(piece);

        Assert.Equal(1, calls);
        var decoded = (PieceData)Decode(bytes);
        Assert.Equal((11u, 3u), (decoded.RequestId, decoded.Piece));
        Assert.Equal(new byte[] { 0x5A, 0x5A, 0x5A, 0x5A, 0x5A }, decoded.Data.ToArray());
    }

    [Fact]
    public void A_refusal_message_too_long_for_the_frame_is_cut_to_fit_on_a_character_boundary()
    {
        var refused = TransferRefused.Create(1, ProtocolError.UnknownFile, new string('é', 1000));

        var bytes = FrameCodec.ToArray(refused);
        var decoded = (TransferRefused)Decode(bytes);

        Assert.True(bytes.Length - Header <= ProtocolLimits.MaxPayloadFor(MessageCode.TransferRefused));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(decoded.Message) <= ProtocolLimits.MaxMessageBytes);
        Assert.DoesNotContain('\uFFFD', decoded.Message);
        Assert.StartsWith("éé", decoded.Message);
    }

    [Fact]
    public void A_piece_list_announcing_more_hashes_than_a_frame_may_hold_is_malformed()
    {
        var bytes = FrameCodec.ToArray(new PieceList(1, 100L * TransferLimits.PieceSize, 0, Hashes(2)));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(Header + 16), TransferLimits.MaxPieceHashesPerFrame + 1);

        var error = Assert.Throws<ProtocolException>(() => Decode(bytes));
        Assert.Equal(ProtocolError.MalformedFrame, error.Code);
        Assert.Contains("16384", error.Message);
    }

    [Fact]
    public void A_piece_list_announcing_a_count_near_the_u32_limit_is_malformed_before_any_allocation()
    {
        var bytes = FrameCodec.ToArray(new PieceList(1, 1, 0, []));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(Header + 16), uint.MaxValue);

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(bytes)).Code);
    }

    [Fact]
    public void A_piece_list_that_really_holds_more_hashes_than_allowed_is_too_large_from_its_header_alone()
    {
        var bytes = FrameCodec.ToArray(new PieceList(1, long.MaxValue, 0, Hashes(TransferLimits.MaxPieceHashesPerFrame + 1)));
        var headerOnly = new ReadOnlySequence<byte>(bytes[..Header]);

        var error = Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref headerOnly, ProtocolLimits.MaxPayload, out _));
        Assert.Equal(ProtocolError.FrameTooLarge, error.Code);
    }

    [Theory]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    [InlineData(1, 0)]
    [InlineData(0, 1)]
    public void A_piece_list_whose_count_disagrees_with_its_hashes_is_malformed(int announced, int sent)
    {
        var bytes = FrameCodec.ToArray(new PieceList(1, 10L * TransferLimits.PieceSize, 0, Hashes(sent)));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(Header + 16), (uint)announced);

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(bytes)).Code);
    }

    [Fact]
    public void A_piece_list_whose_hashes_are_not_whole_is_malformed()
    {
        var bytes = FrameCodec.ToArray(new PieceList(1, 10L * TransferLimits.PieceSize, 0, Hashes(2)));
        var cut = WithPayloadLength(bytes[..^1], bytes.Length - 1 - Header);

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(cut)).Code);
    }

    [Fact]
    public void A_piece_list_size_above_the_largest_signed_64_bit_value_is_malformed()
    {
        var bytes = FrameCodec.ToArray(new PieceList(1, 5, 0, Hashes(1)));
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(Header + 4), (ulong)long.MaxValue + 1);

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(bytes)).Code);
    }

    public static TheoryData<string, byte[]> WellFormed() => new()
    {
        { "piece list request", FrameCodec.ToArray(new PieceListRequest(1, Hash, 0)) },
        { "piece list", FrameCodec.ToArray(new PieceList(1, 3L * TransferLimits.PieceSize, 0, Hashes(3))) },
        { "piece request", FrameCodec.ToArray(new PieceRequest(1, Hash, 0)) },
        { "refusal", FrameCodec.ToArray(TransferRefused.Create(1, ProtocolError.NodeBusy, "busy")) },
    };

    [Theory]
    [MemberData(nameof(WellFormed))]
    public void A_transfer_frame_cut_short_anywhere_is_malformed(string what, byte[] bytes)
    {
        for (int payload = 0; payload < bytes.Length - Header; payload++)
        {
            var cut = WithPayloadLength(bytes[..(Header + payload)], payload);
            var error = Assert.Throws<ProtocolException>(() => Decode(cut));
            Assert.True(error.Code == ProtocolError.MalformedFrame, $"{what} cut to {payload} payload bytes: {error.Code}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(7)]
    public void A_piece_data_frame_without_its_request_id_and_piece_number_is_malformed(int payload)
    {
        var bytes = FrameCodec.ToArray(PieceData.FromBytes(1, 2, []));
        var cut = WithPayloadLength(bytes[..(Header + payload)], payload);

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(cut)).Code);
    }

    [Fact]
    public void A_piece_request_or_list_request_with_extra_bytes_is_refused_from_its_header()
    {
        foreach (var message in new IMessage[] { new PieceRequest(1, Hash, 0), new PieceListRequest(1, Hash, 0) })
        {
            var bytes = FrameCodec.ToArray(message);
            var longer = WithPayloadLength([.. bytes, 0], bytes.Length - Header + 1);
            var sequence = new ReadOnlySequence<byte>(longer);

            var error = Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _));
            Assert.Equal(ProtocolError.FrameTooLarge, error.Code);
        }
    }

    [Fact]
    public void A_refusal_with_trailing_bytes_is_malformed()
    {
        var bytes = FrameCodec.ToArray(TransferRefused.Create(1, ProtocolError.NodeBusy, "busy"));
        var longer = WithPayloadLength([.. bytes, 0], bytes.Length - Header + 1);

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(longer)).Code);
    }

    [Fact]
    public void A_piece_data_frame_longer_than_a_piece_is_refused_from_its_header_before_its_body_is_buffered()
    {
        var header = new byte[Header];
        header[0] = (byte)MessageCode.PieceData;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(2), 8 + TransferLimits.PieceSize + 1);
        var sequence = new ReadOnlySequence<byte>(header);

        var error = Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _));
        Assert.Equal(ProtocolError.FrameTooLarge, error.Code);
    }

    [Fact]
    public void A_piece_data_frame_of_exactly_a_piece_waits_for_its_body_and_then_decodes()
    {
        var bytes = FrameCodec.ToArray(PieceData.FromBytes(1, 0, Bytes(TransferLimits.PieceSize)));
        var partial = new ReadOnlySequence<byte>(bytes[..^1]);

        Assert.False(FrameCodec.TryReadFrame(ref partial, ProtocolLimits.MaxPayload, out _));
        Assert.Equal(bytes.Length - 1, partial.Length);
        var data = (PieceData)Decode(bytes);
        Assert.Equal(TransferLimits.PieceSize, data.Length);
    }

    [Fact]
    public void A_refusal_whose_message_is_longer_than_the_limit_is_malformed()
    {
        // Announced 1,025 message bytes; the frame still fits its code's limit, so the field check must catch it.
        var payload = new byte[4 + 2 + 2 + ProtocolLimits.MaxMessageBytes];
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4), (ushort)ProtocolError.NodeBusy);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(6), ProtocolLimits.MaxMessageBytes + 1);
        payload.AsSpan(8).Fill((byte)'x');

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(Frame(MessageCode.TransferRefused, payload))).Code);
    }

    [Fact]
    public void A_refusal_whose_message_is_not_utf8_is_malformed()
    {
        byte[] payload = [0, 0, 0, 1, 0, 3, 0, 2, 0xC3, 0x28];

        Assert.Equal(ProtocolError.MalformedFrame, Assert.Throws<ProtocolException>(() => Decode(Frame(MessageCode.TransferRefused, payload))).Code);
    }

    [Fact]
    public void Transfer_frames_with_flags_set_are_refused()
    {
        var bytes = FrameCodec.ToArray(new PieceRequest(1, Hash, 0));
        bytes[1] = 2;
        var sequence = new ReadOnlySequence<byte>(bytes);

        Assert.Equal(ProtocolError.ReservedFlags, Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _)).Code);
    }

    [Fact]
    public void The_next_code_after_the_transfer_frames_is_still_unknown()
    {
        byte[] bytes = [0x45, 0, 0, 0, 0, 0];
        var sequence = new ReadOnlySequence<byte>(bytes);

        Assert.Equal(ProtocolError.UnknownCode, Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out _)).Code);
    }

    private static byte[] Frame(MessageCode code, byte[] payload)
    {
        var bytes = new byte[Header + payload.Length];
        bytes[0] = (byte)code;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(2), (uint)payload.Length);
        payload.CopyTo(bytes, Header);
        return bytes;
    }

    private static byte[] WithPayloadLength(byte[] bytes, int length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(2), (uint)length);
        return bytes;
    }

    private static IMessage Decode(byte[] bytes)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
        var message = MessageDecoder.Decode(frame);
        Assert.Equal(0, sequence.Length);
        return message;
    }
}
