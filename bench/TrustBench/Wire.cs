using System.Buffers.Binary;
using System.Text;

namespace P2PTransfer.Bench;

/// <summary>
/// The wire protocol as an outside implementer writes it from docs/protocol.md (sections 2-5, 14, 15): frame
/// headers and the payloads of every code. Written on its own, not from the engine's codec, so the benches send what
/// the document says, and can send what it forbids.
/// </summary>
internal static class Wire
{
    public const uint Magic = 0x50325054;
    public const int HeaderSize = 6;

    public const byte Hello = 0x01, Welcome = 0x02, Ping = 0x03, Pong = 0x04, Status = 0x05, Bye = 0x06, Error = 0x07;
    public const byte Search = 0x20, SearchCancel = 0x21, SearchResults = 0x22, SearchDone = 0x23, Query = 0x28, QueryHit = 0x29;
    public const byte PieceListRequest = 0x40, PieceList = 0x41, PieceRequest = 0x42, PieceData = 0x43, TransferRefused = 0x44;

    public static readonly byte[] AllCodes =
        [Hello, Welcome, Ping, Pong, Status, Bye, Error, Search, SearchCancel, SearchResults, SearchDone, Query, QueryHit,
         PieceListRequest, PieceList, PieceRequest, PieceData, TransferRefused];

    public static byte[] Frame(byte code, ReadOnlySpan<byte> payload, byte flags = 0)
    {
        var frame = new byte[HeaderSize + payload.Length];
        frame[0] = code;
        frame[1] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(2), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    public static byte[] Frame(byte code, Action<Writer> fields)
    {
        var w = new Writer();
        fields(w);
        return Frame(code, w.ToArray());
    }

    /// <summary>A node id in its wire form: the UUID's bytes in the order of its text form (RFC 4122).</summary>
    public static byte[] IdBytes(Guid id) => id.ToByteArray(bigEndian: true);

    public static Guid ReadId(ReadOnlySpan<byte> bytes) => new(bytes[..16], bigEndian: true);

    public const byte MembershipProof = 0x08;

    /// <summary>Protocol 1's Hello: magic, version, role, node id, endpoint, name.</summary>
    public static byte[] HelloFrame(ushort version, byte role, Guid id, string endpoint, string name) =>
        Frame(Hello, w => w.U32(Magic).U16(version).U8(role).Id(id).Str(endpoint).Str(name));

    /// <summary>
    /// Protocol 2's Hello: magic, a version range, role, capability bits (none), a fresh 32-byte nonce, the node id TLS
    /// proves (a pure client's too), endpoint, name.
    /// </summary>
    public static byte[] HelloV2Frame(ushort minVersion, ushort maxVersion, byte role, Guid id, string endpoint, string name, ulong capabilities = 0) =>
        Frame(Hello, w => w.U32(Magic).U16(minVersion).U16(maxVersion).U8(role).U64(capabilities)
            .Bytes(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).Id(id).Str(endpoint).Str(name));

    public static byte[] PingFrame(ulong nonce) => Frame(Ping, w => w.U64(nonce));

    public static byte[] PongFrame(ulong nonce) => Frame(Pong, w => w.U64(nonce));

    public static byte[] ByeFrame(ushort code, string message) => Frame(Bye, w => w.U16(code).Str(message));

    /// <summary>Query fields (section 14): names, a pattern, extensions, and optionally sizes and a hash.</summary>
    public static void QueryFields(Writer w, string[] names, string pattern = "", string[]? extensions = null, long? min = null, long? max = null, byte[]? hash = null)
    {
        extensions ??= [];
        byte flags = (byte)((min is null ? 0 : 1) | (max is null ? 0 : 2) | (hash is null ? 0 : 4));
        w.U8(flags).U8((byte)names.Length);
        foreach (var n in names)
        {
            w.Str(n);
        }

        w.Str(pattern).U8((byte)extensions.Length);
        foreach (var e in extensions)
        {
            w.Str(e);
        }

        if (min is { } lo)
        {
            w.U64((ulong)lo);
        }

        if (max is { } hi)
        {
            w.U64((ulong)hi);
        }

        if (hash is not null)
        {
            w.Bytes(hash);
        }
    }

    public static void Stack(Writer w, IReadOnlyList<(Guid Id, string Endpoint)> servers)
    {
        w.U8((byte)servers.Count);
        foreach (var (id, endpoint) in servers)
        {
            w.Id(id).Str(endpoint);
        }
    }

    public static byte[] SearchFrame(uint searchId, byte ttl, uint timeoutMs, uint maxResults, string[] names, string pattern = "") =>
        Frame(Search, w =>
        {
            w.U32(searchId).U8(ttl).U32(timeoutMs).U32(maxResults);
            QueryFields(w, names, pattern);
        });

    /// <summary>
    /// A Query. With signed search messages (<see cref="Transport.Signed"/>) it carries the entry server's key proof
    /// after the stack: <paramref name="entry"/>'s key and its signature over the request id and the stack's bottom
    /// (id and endpoint); without a signer, a key proof of a fresh key, which holds for no one on the stack.
    /// </summary>
    public static byte[] QueryFrame(Guid requestId, byte ttl, uint maxResults, IReadOnlyList<(Guid Id, string Endpoint)> stack, string[] names, string pattern = "", Identity? entry = null) =>
        Frame(Query, w =>
        {
            w.Id(requestId).U8(ttl).U32(maxResults);
            Stack(w, stack);
            if (Transport.Signed)
            {
                var signer = entry ?? new Identity();
                var data = new Writer().Bytes("P2PTransfer entry v2\0"u8).Id(requestId).Id(stack[0].Id).Str(stack[0].Endpoint).ToArray();
                KeyProof(w, signer, data);
            }

            QueryFields(w, names, pattern);
        });

    /// <summary>A key proof: u16 key length, the key (DER SubjectPublicKeyInfo), a 64-byte P1363 signature.</summary>
    public static void KeyProof(Writer w, Identity signer, byte[] data) =>
        w.U16((ushort)signer.PublicKey.Length).Bytes(signer.PublicKey).Bytes(signer.Sign(data));

    /// <summary>A file entry of a hit list (section 14).</summary>
    public readonly record struct Entry(string Name, long Size, byte[] Hash, string RelativePath);

    public static void HitList(Writer w, IReadOnlyList<Entry> files)
    {
        w.U16((ushort)files.Count);
        foreach (var f in files)
        {
            w.Str(f.Name).U64((ulong)f.Size).Bytes(f.Hash).Str(f.RelativePath);
        }
    }

    /// <summary>
    /// A QueryHit. With signed search messages the source carries a key proof: <paramref name="signer"/>'s key and
    /// signature over the request id, batch, source and hit list (a fresh key's when none is given: a proof that does
    /// not hold for the source named).
    /// </summary>
    public static byte[] QueryHitFrame(Guid requestId, ushort batch, byte remaining, IReadOnlyList<(Guid, string)> stack, Guid sourceId, string sourceName, string sourceEndpoint, IReadOnlyList<Entry> files, Identity? signer = null) =>
        Frame(QueryHit, w =>
        {
            w.Id(requestId).U16(batch).U8(remaining);
            Stack(w, stack);
            w.Id(sourceId).Str(sourceName).Str(sourceEndpoint);
            var hits = new Writer();
            HitList(hits, files);
            if (Transport.Signed)
            {
                var data = new Writer().Bytes("P2PTransfer source v2\0"u8).Id(requestId).U16(batch).Id(sourceId).Str(sourceName).Str(sourceEndpoint).Bytes(hits.ToArray()).ToArray();
                KeyProof(w, signer ?? new Identity(), data);
            }

            w.Bytes(hits.ToArray());
        });

    /// <summary>Big-endian field writer (section 3).</summary>
    internal sealed class Writer
    {
        private readonly MemoryStream _buffer = new();

        public Writer U8(byte v)
        {
            _buffer.WriteByte(v);
            return this;
        }

        public Writer U16(ushort v)
        {
            Span<byte> b = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(b, v);
            _buffer.Write(b);
            return this;
        }

        public Writer U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, v);
            _buffer.Write(b);
            return this;
        }

        public Writer U64(ulong v)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(b, v);
            _buffer.Write(b);
            return this;
        }

        public Writer Id(Guid id) => Bytes(IdBytes(id));

        public Writer Bytes(ReadOnlySpan<byte> bytes)
        {
            _buffer.Write(bytes);
            return this;
        }

        public Writer Str(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            return U16((ushort)bytes.Length).Bytes(bytes);
        }

        public byte[] ToArray() => _buffer.ToArray();
    }

    /// <summary>A frame as read: code, flags and payload.</summary>
    internal readonly record struct RawFrame(byte Code, byte Flags, byte[] Payload)
    {
        public ushort ErrorCode => Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : (ushort)0;

        public ulong Nonce => Payload.Length >= 8 ? BinaryPrimitives.ReadUInt64BigEndian(Payload) : 0;

        /// <summary>
        /// Welcome: availability and the server's node id (section 5). Protocol 1: version, availability, id;
        /// protocol 2: version, availability, capabilities (8), nonce (32), id.
        /// </summary>
        public (byte Availability, Guid Id) WelcomeFields =>
            BinaryPrimitives.ReadUInt16BigEndian(Payload) >= 2 ? (Payload[2], ReadId(Payload.AsSpan(43))) : (Payload[2], ReadId(Payload.AsSpan(3)));
    }
}
