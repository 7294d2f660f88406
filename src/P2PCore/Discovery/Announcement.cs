using System.Buffers.Binary;

namespace P2PTransfer.Discovery;

/// <summary>
/// What a node multicasts on its local networks so that nodes there can link to it: its id, the TCP port it
/// listens on and the tag of its network. 32 bytes; the address to dial is the one the datagram came from, never an
/// address inside it, so an announcement cannot point a node at a third party.
/// </summary>
/// <param name="NodeId">The announcing node's id; the dial checks that the node answering has it.</param>
/// <param name="Port">The TCP port it takes connections on.</param>
/// <param name="NetworkTag">8 bytes that name its network (all zero for the open network), see <see cref="LocalDiscovery.TagOf"/>.</param>
internal sealed record Announcement(Guid NodeId, ushort Port, ulong NetworkTag)
{
    /// <summary>"P2PA".</summary>
    public const uint Magic = 0x50325041;
    public const byte Version = 1;
    public const int Length = 32;

    public byte[] Encode()
    {
        var bytes = new byte[Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, Magic);
        bytes[4] = Version;
        bytes[5] = 0;
        NodeId.TryWriteBytes(bytes.AsSpan(6, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(22), Port);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(24), NetworkTag);
        return bytes;
    }

    /// <summary>Reads a datagram; null for anything that is not an announcement of this version, exactly.</summary>
    public static Announcement? TryDecode(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length != Length || BinaryPrimitives.ReadUInt32BigEndian(datagram) != Magic || datagram[4] != Version || datagram[5] != 0)
        {
            return null;
        }

        var id = new Guid(datagram.Slice(6, 16), bigEndian: true);
        var port = BinaryPrimitives.ReadUInt16BigEndian(datagram[22..]);
        return id == Guid.Empty || port == 0 ? null : new Announcement(id, port, BinaryPrimitives.ReadUInt64BigEndian(datagram[24..]));
    }
}
