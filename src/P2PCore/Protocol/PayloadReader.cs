using System.Buffers;
using System.Text;

namespace P2PTransfer.Protocol;

/// <summary>Reads big-endian fields from a payload that may span several buffer segments. Any shortfall is a malformed frame.</summary>
internal ref struct PayloadReader(ReadOnlySequence<byte> payload, MessageCode code)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private SequenceReader<byte> _reader = new(payload);
    private readonly MessageCode _code = code;

    public byte ReadByte()
    {
        if (!_reader.TryRead(out byte value))
        {
            throw Short();
        }

        return value;
    }

    public ushort ReadUInt16()
    {
        if (!_reader.TryReadBigEndian(out short value))
        {
            throw Short();
        }

        return (ushort)value;
    }

    public uint ReadUInt32()
    {
        if (!_reader.TryReadBigEndian(out int value))
        {
            throw Short();
        }

        return (uint)value;
    }

    public ulong ReadUInt64()
    {
        if (!_reader.TryReadBigEndian(out long value))
        {
            throw Short();
        }

        return (ulong)value;
    }

    /// <summary>16 bytes in RFC 4122 (big-endian) order.</summary>
    public Guid ReadGuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!_reader.TryCopyTo(bytes))
        {
            throw Short();
        }

        _reader.Advance(16);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>Exactly <paramref name="count"/> raw bytes.</summary>
    public byte[] ReadBytes(int count)
    {
        var bytes = new byte[count];
        if (!_reader.TryCopyTo(bytes))
        {
            throw Short();
        }

        _reader.Advance(count);
        return bytes;
    }

    /// <summary>Bytes left in the payload.</summary>
    public readonly long Remaining => _reader.Remaining;

    /// <summary>Fills <paramref name="destination"/> from the payload (bulk data: one copy, into the caller's buffer).</summary>
    public void ReadInto(Span<byte> destination)
    {
        if (!_reader.TryCopyTo(destination))
        {
            throw Short();
        }

        _reader.Advance(destination.Length);
    }

    /// <summary>u16 byte count, then that many bytes of UTF-8.</summary>
    public string ReadString(int maxBytes, string field)
    {
        int length = ReadUInt16();
        if (length > maxBytes)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"{_code} field '{field}' is {length} bytes; the limit is {maxBytes}");
        }

        if (_reader.Remaining < length)
        {
            throw Short();
        }

        var bytes = _reader.UnreadSequence.Slice(0, length);
        _reader.Advance(length);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"{_code} field '{field}' is not valid UTF-8");
        }
    }

    public T ReadEnum<T>(string field) where T : struct, Enum
    {
        byte raw = ReadByte();
        var value = (T)Enum.ToObject(typeof(T), raw);
        if (!Enum.IsDefined(value))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"{_code} field '{field}' has unknown value {raw}");
        }

        return value;
    }

    /// <summary>Payloads have no trailing bytes in v1: new fields come with a new version.</summary>
    public readonly void EnsureEnd()
    {
        if (_reader.Remaining != 0)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"{_code} payload has {_reader.Remaining} unexpected trailing bytes");
        }
    }

    private readonly ProtocolException Short() =>
        new(ProtocolError.MalformedFrame, $"{_code} payload ends early ({payload.Length} bytes)");
}
