namespace P2PTransfer.Protocol.Messages;

/// <summary>First frame of every connection (inside TLS), sent by the side that dialed.</summary>
/// <param name="MinVersion">The lowest protocol version the dialer speaks.</param>
/// <param name="MaxVersion">The highest protocol version the dialer speaks.</param>
/// <param name="Capabilities">What the dialer can do beyond the version (bits; the connection uses those both sides set).</param>
/// <param name="Nonce">32 random bytes, new for every connection: what the membership proofs bind to.</param>
/// <param name="NodeId">The dialer's node id: the id its TLS certificate proves.</param>
/// <param name="Endpoint">Where the dialer can be reached ('host:port'); empty for a pure client.</param>
internal sealed record Hello(ushort MinVersion, ushort MaxVersion, ConnectionRole Role, ulong Capabilities, Bytes32 Nonce, Guid NodeId, string Endpoint, string Name) : IMessage
{
    public MessageCode Code => MessageCode.Hello;

    public int PayloadLength => 4 + 2 + 2 + 1 + 8 + Bytes32.Length + 16 + PayloadWriter.StringLength(Endpoint) + PayloadWriter.StringLength(Name);

    /// <summary>A Hello of this build: its versions and capabilities, and a new nonce.</summary>
    public static Hello Create(ConnectionRole role, Guid nodeId, string endpoint, string name) =>
        new(ProtocolLimits.MinVersion, ProtocolLimits.MaxVersion, role, ProtocolLimits.Capabilities, Bytes32.Random(), nodeId, endpoint, name);

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(ProtocolLimits.Magic);
        writer.WriteUInt16(MinVersion);
        writer.WriteUInt16(MaxVersion);
        writer.WriteByte((byte)Role);
        writer.WriteUInt64(Capabilities);
        writer.WriteBytes(Nonce.ToArray());
        writer.WriteGuid(NodeId);
        writer.WriteString(Endpoint);
        writer.WriteString(Name);
    }

    public static Hello Read(ref PayloadReader reader)
    {
        uint magic = reader.ReadUInt32();
        if (magic != ProtocolLimits.Magic)
        {
            throw new ProtocolException(ProtocolError.BadMagic, $"not a P2PTransfer connection (magic 0x{magic:X8})");
        }

        ushort minVersion = reader.ReadUInt16();
        ushort maxVersion = reader.ReadUInt16();
        if (ProtocolLimits.Negotiate(minVersion, maxVersion) is null)
        {
            // Nothing in common: the rest is not read.
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"protocol versions {minVersion} to {maxVersion} are not supported; this node speaks version {ProtocolLimits.MinVersion} to {ProtocolLimits.MaxVersion}");
        }

        // The fields in order; each is checked as it is read (docs/protocol.md section 5).
        var role = reader.ReadEnum<ConnectionRole>("role");
        ulong capabilities = reader.ReadUInt64();
        var nonce = Bytes32.From(reader.ReadBytes(Bytes32.Length));
        var nodeId = reader.ReadGuid();
        if (role == ConnectionRole.Peer && nodeId == Guid.Empty)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, "Hello field 'nodeId' is zero: a peer (role 2) must give its node id");
        }

        var endpoint = reader.ReadString(ProtocolLimits.MaxEndpointBytes, "endpoint");
        if (endpoint.Length == 0 ? role == ConnectionRole.Peer : !WireRules.IsEndpoint(endpoint))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, endpoint.Length == 0
                ? "Hello field 'endpoint' is empty: a peer (role 2) must give the endpoint of its server"
                : $"Hello field 'endpoint' is not 'host:port' or '[v6]:port': '{Text.Escape(Text.Truncate(endpoint, 64))}'");
        }

        var name = reader.ReadString(ProtocolLimits.MaxNameBytes, "name");
        if (name.Length > 0 && !WireRules.IsNodeName(name))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"Hello field 'name' is not a node name (A-Z a-z 0-9 . _ -, starting with a letter or digit): '{Text.Escape(name)}'");
        }

        return new Hello(minVersion, maxVersion, role, capabilities, nonce, nodeId, endpoint, name);
    }
}
