namespace P2PTransfer.Protocol.Messages;

/// <summary>The server's answer to Hello: who it is and whether it is available.</summary>
internal sealed record Welcome(ushort Version, NodeAvailability Availability, Guid NodeId, string Endpoint, string Name) : IMessage
{
    public MessageCode Code => MessageCode.Welcome;

    public int PayloadLength => 2 + 1 + 16 + PayloadWriter.StringLength(Endpoint) + PayloadWriter.StringLength(Name);

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt16(Version);
        writer.WriteByte((byte)Availability);
        writer.WriteGuid(NodeId);
        writer.WriteString(Endpoint);
        writer.WriteString(Name);
    }

    public static Welcome Read(ref PayloadReader reader)
    {
        ushort version = reader.ReadUInt16();
        if (version != ProtocolLimits.Version)
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"server speaks protocol version {version}; this client speaks version {ProtocolLimits.Version}");
        }

        var availability = reader.ReadEnum<NodeAvailability>("availability");
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

        return new Welcome(version, availability, nodeId, endpoint, name);
    }
}
