using System.Buffers;
using System.Buffers.Binary;

namespace P2PTransfer.Protocol;

/// <summary>
/// Frames on the wire: <c>code:u8 flags:u8 length:u32be payload[length]</c>.
/// Pure functions over buffers, no sockets, so every edge can be unit-tested.
/// </summary>
internal static class FrameCodec
{
    /// <summary>The payload length the frame at the front of <paramref name="buffer"/> declares; -1 before its header is in.</summary>
    public static long DeclaredPayloadLength(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < ProtocolLimits.FrameHeaderLength)
        {
            return -1;
        }

        Span<byte> header = stackalloc byte[ProtocolLimits.FrameHeaderLength];
        buffer.Slice(0, ProtocolLimits.FrameHeaderLength).CopyTo(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header[2..]);
    }

    /// <summary>
    /// Reads one frame from the front of <paramref name="buffer"/>. Returns false when more bytes are needed.
    /// On success the buffer is trimmed past the frame. Bad headers throw before the body is buffered.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxPayload, out Frame frame) =>
        TryReadFrame(ref buffer, maxPayload, null, out frame);

    /// <summary>
    /// Reads one frame, judging its header in the order of docs/protocol.md section 2: a code that is unknown is
    /// refused unless the frame is optional (flags exactly bit 0), the other flag bits are 0, the length is within the limit,
    /// then the code is one this connection takes at this point (<paramref name="refuse"/> returns the error for a
    /// code that is not, or null). All of it before the body is buffered. Optional frames of unknown codes are read
    /// and skipped, wherever they come.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxPayload, Func<MessageCode, ProtocolException?>? refuse, out Frame frame)
    {
        frame = default;
        Span<byte> header = stackalloc byte[ProtocolLimits.FrameHeaderLength];
        while (buffer.Length >= ProtocolLimits.FrameHeaderLength)
        {
            buffer.Slice(0, ProtocolLimits.FrameHeaderLength).CopyTo(header);
            var code = (MessageCode)header[0];
            byte flags = header[1];
            bool known = Enum.IsDefined(code);
            if (!known && flags != ProtocolLimits.OptionalFlag)
            {
                throw new ProtocolException(ProtocolError.UnknownCode, $"unknown request code 0x{header[0]:X2}");
            }

            if ((flags & ~ProtocolLimits.OptionalFlag) != 0)
            {
                throw new ProtocolException(ProtocolError.ReservedFlags, $"frame flags other than bit 0 must be 0 in protocol v{ProtocolLimits.Version}, got 0x{flags:X2}");
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(header[2..]);
            int limit = Math.Min(maxPayload, known ? ProtocolLimits.MaxPayloadFor(code) : ProtocolLimits.MaxUnknownOptionalPayload);
            if (length > (uint)limit)
            {
                throw new ProtocolException(ProtocolError.FrameTooLarge, known
                    ? $"{code} frame of {length} bytes exceeds the limit of {limit} bytes"
                    : $"optional frame 0x{header[0]:X2} of {length} bytes exceeds the limit of {limit} bytes");
            }

            long total = ProtocolLimits.FrameHeaderLength + (long)length;
            if (!known)
            {
                // An optional frame this version does not know: read whole, then ignored.
                if (buffer.Length < total)
                {
                    return false;
                }

                buffer = buffer.Slice(total);
                continue;
            }

            if (refuse?.Invoke(code) is { } refusal)
            {
                throw refusal;
            }

            if (buffer.Length < total)
            {
                return false;
            }

            frame = new Frame(code, buffer.Slice(ProtocolLimits.FrameHeaderLength, length));
            buffer = buffer.Slice(total);
            return true;
        }

        return false;
    }

    /// <summary>Bytes one frame of this message takes on the wire.</summary>
    public static int GetFrameLength(IMessage message) => ProtocolLimits.FrameHeaderLength + message.PayloadLength;

    /// <summary>Writes header and payload of one frame; returns the bytes written.</summary>
    public static int Write(IMessage message, Span<byte> destination)
    {
        int payloadLength = message.PayloadLength;
        destination[0] = (byte)message.Code;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)payloadLength);
        var writer = new PayloadWriter(destination.Slice(ProtocolLimits.FrameHeaderLength, payloadLength));
        message.WritePayload(ref writer);
        writer.EnsureFull(message.Code);
        return ProtocolLimits.FrameHeaderLength + payloadLength;
    }

    /// <summary>Writes one frame into a pipe or any buffer writer.</summary>
    public static int Write(IMessage message, IBufferWriter<byte> output)
    {
        int length = GetFrameLength(message);
        int written = Write(message, output.GetSpan(length));
        output.Advance(written);
        return written;
    }

    /// <summary>The frame as a new array (tests and one-off sends).</summary>
    public static byte[] ToArray(IMessage message)
    {
        var bytes = new byte[GetFrameLength(message)];
        Write(message, bytes);
        return bytes;
    }
}
