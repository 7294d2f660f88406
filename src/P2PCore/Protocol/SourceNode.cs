namespace P2PTransfer.Protocol;

/// <summary>
/// The server that holds the files of a response, and its proof that it sent them: its public key (which must hash
/// to <see cref="NodeId"/>) and its signature over the request, itself and the hit list (docs/protocol.md section
/// 14, Source). The entry server checks the proof before it takes the files.
/// </summary>
internal sealed record SourceNode(Guid NodeId, string Name, string Endpoint, KeyProof Proof)
{
    internal int WireLength => 16 + PayloadWriter.StringLength(Name) + PayloadWriter.StringLength(Endpoint) + Proof.WireLength;

    internal void Write(ref PayloadWriter writer)
    {
        writer.WriteGuid(NodeId);
        writer.WriteString(Name);
        writer.WriteString(Endpoint);
        Proof.Write(ref writer);
    }

    /// <summary>Reads a source; its node id is not zero, its name and endpoint follow the rules of a Welcome's (docs/protocol.md section 5), or the frame is malformed.</summary>
    internal static SourceNode Read(ref PayloadReader reader)
    {
        var nodeId = reader.ReadGuid();
        if (nodeId == Guid.Empty)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, "source has a zero node id: a server always has one");
        }

        var name = reader.ReadString(ProtocolLimits.MaxNameBytes, "source name");
        if (!WireRules.IsNodeName(name))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"source name is not a node name (A-Z a-z 0-9 . _ -, starting with a letter or digit): '{Text.Truncate(name, 64)}'");
        }

        var endpoint = reader.ReadString(ProtocolLimits.MaxEndpointBytes, "source endpoint");
        if (!WireRules.IsEndpoint(endpoint))
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"source endpoint is not 'host:port' or '[v6]:port': '{Text.Truncate(endpoint, 64)}'");
        }

        return new SourceNode(nodeId, name, endpoint, KeyProof.Read(ref reader, "source"));
    }
}
