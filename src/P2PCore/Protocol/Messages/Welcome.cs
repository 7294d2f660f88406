namespace P2PTransfer.Protocol.Messages;

/// <summary>The server's answer to Hello: who it is and whether it is available.</summary>
public sealed record Welcome(ushort Version, NodeAvailability Availability, Guid NodeId, string Endpoint, string Name) : IMessage
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
        var endpoint = reader.ReadString(ProtocolLimits.MaxEndpointBytes, "endpoint");
        var name = reader.ReadString(ProtocolLimits.MaxNameBytes, "name");
        return new Welcome(version, availability, nodeId, endpoint, name);
    }
}
