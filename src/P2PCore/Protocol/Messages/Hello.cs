namespace P2PTransfer.Protocol.Messages;

/// <summary>First frame of every connection, sent by the side that dialed.</summary>
/// <param name="NodeId">The dialer's node id; <see cref="Guid.Empty"/> for a pure client.</param>
/// <param name="Endpoint">Where the dialer can be reached ('host:port'); empty for a pure client.</param>
internal sealed record Hello(ushort Version, ConnectionRole Role, Guid NodeId, string Endpoint, string Name) : IMessage
{
    public MessageCode Code => MessageCode.Hello;

    public int PayloadLength => 4 + 2 + 1 + 16 + PayloadWriter.StringLength(Endpoint) + PayloadWriter.StringLength(Name);

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(ProtocolLimits.Magic);
        writer.WriteUInt16(Version);
        writer.WriteByte((byte)Role);
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

        ushort version = reader.ReadUInt16();
        if (version != ProtocolLimits.Version)
        {
            // The rest of the payload may follow another layout: stop here.
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"protocol version {version} is not supported; this node speaks version {ProtocolLimits.Version}");
        }

        // The fields in order; each is checked as it is read (docs/protocol.md section 5).
        var role = reader.ReadEnum<ConnectionRole>("role");
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

        return new Hello(version, role, nodeId, endpoint, name);
    }
}
