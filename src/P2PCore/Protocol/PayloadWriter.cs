using System.Buffers.Binary;
using System.Text;

namespace P2PTransfer.Protocol;

/// <summary>Writes big-endian fields into a span sized by <see cref="IMessage.PayloadLength"/>.</summary>
internal ref struct PayloadWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;
    private int _position;

    /// <summary>Encoded size of a string field: u16 count plus UTF-8 bytes.</summary>
    public static int StringLength(string value) => 2 + Encoding.UTF8.GetByteCount(value);

    public void WriteByte(byte value) => _destination[_position++] = value;

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_destination[_position..], value);
        _position += 2;
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_destination[_position..], value);
        _position += 4;
    }

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_destination[_position..], value);
        _position += 8;
    }

    public void WriteGuid(Guid value)
    {
        value.TryWriteBytes(_destination[_position..], bigEndian: true, out _);
        _position += 16;
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_destination[_position..]);
        _position += value.Length;
    }

    /// <summary>Hands out the next <paramref name="count"/> bytes to be filled in place (bulk data, no extra copy).</summary>
    public Span<byte> Reserve(int count)
    {
        var span = _destination.Slice(_position, count);
        _position += count;
        return span;
    }

    public void WriteString(string value)
    {
        int count = Encoding.UTF8.GetBytes(value, _destination[(_position + 2)..]);
        BinaryPrimitives.WriteUInt16BigEndian(_destination[_position..], (ushort)count);
        _position += 2 + count;
    }

    internal readonly void EnsureFull(MessageCode code)
    {
        if (_position != _destination.Length)
        {
            throw new InvalidOperationException($"{code} wrote {_position} bytes but declared {_destination.Length}");
        }
    }
}
