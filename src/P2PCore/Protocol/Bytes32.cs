using System.Buffers.Binary;
using System.Security.Cryptography;

namespace P2PTransfer.Protocol;

/// <summary>32 bytes as a value (nonces, membership proofs): compared by content, copied with the message that holds them.</summary>
internal readonly record struct Bytes32(ulong A, ulong B, ulong C, ulong D)
{
    public const int Length = 32;

    /// <summary>32 bytes from the system's cryptographic random number generator.</summary>
    public static Bytes32 Random()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        return From(bytes);
    }

    public static Bytes32 From(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt64BigEndian(bytes),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));

    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, A);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], B);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], C);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], D);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Equal, in a time that does not depend on where they differ (for secrets such as proofs).</summary>
    public static bool FixedTimeEquals(Bytes32 a, Bytes32 b)
    {
        Span<byte> left = stackalloc byte[Length];
        Span<byte> right = stackalloc byte[Length];
        a.CopyTo(left);
        b.CopyTo(right);
        return CryptographicOperations.FixedTimeEquals(left, right);
    }

    public override string ToString() => Convert.ToHexString(ToArray());
}
