namespace P2PTransfer.Protocol.Messages;

/// <summary>The server's answer to Hello: the version chosen, who it is, whether it is available, and its membership proof.</summary>
/// <param name="Version">The version the connection speaks: the highest both sides speak.</param>
/// <param name="Capabilities">What the server can do beyond the version (bits; the connection uses those both sides set).</param>
/// <param name="Nonce">32 random bytes, new for every connection.</param>
/// <param name="NodeId">The server's node id: the id its TLS certificate proves.</param>
/// <param name="Proof">The server's membership proof on a private network; null on an open one.</param>
internal sealed record Welcome(ushort Version, NodeAvailability Availability, ulong Capabilities, Bytes32 Nonce, Guid NodeId, string Endpoint, string Name, Bytes32? Proof) : IMessage
{
    public MessageCode Code => MessageCode.Welcome;

    public int PayloadLength => 2 + 1 + 8 + Bytes32.Length + 16 + PayloadWriter.StringLength(Endpoint) + PayloadWriter.StringLength(Name) + 1 + (Proof is null ? 0 : Bytes32.Length);

    /// <summary>A Welcome of this build (its version and capabilities, a new nonce).</summary>
    public static Welcome Create(NodeAvailability availability, Guid nodeId, string endpoint, string name, Bytes32? proof = null) =>
        new(ProtocolLimits.Version, availability, ProtocolLimits.Capabilities, Bytes32.Random(), nodeId, endpoint, name, proof);

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt16(Version);
        writer.WriteByte((byte)Availability);
        writer.WriteUInt64(Capabilities);
        writer.WriteBytes(Nonce.ToArray());
        writer.WriteGuid(NodeId);
        writer.WriteString(Endpoint);
        writer.WriteString(Name);
        if (Proof is { } proof)
        {
            writer.WriteByte(Bytes32.Length);
            writer.WriteBytes(proof.ToArray());
        }
        else
        {
            writer.WriteByte(0);
        }
    }

    public static Welcome Read(ref PayloadReader reader)
    {
        ushort version = reader.ReadUInt16();
        if (version < ProtocolLimits.MinVersion || version > ProtocolLimits.MaxVersion)
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"server chose protocol version {version}; this node speaks version {ProtocolLimits.MinVersion} to {ProtocolLimits.MaxVersion}");
        }

        var availability = reader.ReadEnum<NodeAvailability>("availability");
        ulong capabilities = reader.ReadUInt64();
        var nonce = Bytes32.From(reader.ReadBytes(Bytes32.Length));
        var nodeId = reader.ReadGuid();
        if (nodeId == Guid.Empty)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, "Welcome field 'nodeId' is zero: a server must give its node id");
        }

        var endpoint = reader.ReadString(ProtocolLimits.MaxEndpointBytes, "endpoint");
        if (!WireRules.IsEndpoint(endpoint))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"Welcome field 'endpoint' is not 'host:port' or '[v6]:port': '{Text.Escape(Text.Truncate(endpoint, 64))}'");
        }

        var name = reader.ReadString(ProtocolLimits.MaxNameBytes, "name");
        if (!WireRules.IsNodeName(name))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"Welcome field 'name' is not a node name (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit): '{Text.Escape(name)}'");
        }

        byte proofLength = reader.ReadByte();
        if (proofLength is not (0 or Bytes32.Length))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"Welcome field 'proofLength' is {proofLength}: it must be 0 or 32");
        }

        Bytes32? proof = proofLength == 0 ? null : Bytes32.From(reader.ReadBytes(Bytes32.Length));
        return new Welcome(version, availability, capabilities, nonce, nodeId, endpoint, name, proof);
    }
}
