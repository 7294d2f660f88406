
namespace P2PTransfer.Protocol;

/// <summary>A file a server found in its own index, as it travels in a response.</summary>
public sealed record FoundFile(string Name, long Size, string Hash, string RelativePath)
{
    public const int MaxNameBytes = 1024;
    public const int MaxRelativePathBytes = 4096;

    /// <summary>False for a file whose name or path is too long for the protocol (it is not announced).</summary>
    public bool FitsProtocol =>
        System.Text.Encoding.UTF8.GetByteCount(Name) <= MaxNameBytes
        && System.Text.Encoding.UTF8.GetByteCount(RelativePath) <= MaxRelativePathBytes;

    /// <summary>What the file holds on to while it waits for a reader: its strings (UTF-16) and some overhead.</summary>
    internal long MemorySize => ((Name.Length + RelativePath.Length + Hash.Length) * 2L) + 96;

    internal int WireLength => PayloadWriter.StringLength(Name) + 8 + 32 + PayloadWriter.StringLength(RelativePath);

    internal void Write(ref PayloadWriter writer)
    {
        writer.WriteString(Name);
        writer.WriteUInt64((ulong)Size);
        writer.WriteBytes(Convert.FromHexString(Hash));
        writer.WriteString(RelativePath);
    }

    internal static FoundFile Read(ref PayloadReader reader)
    {
        var name = reader.ReadString(MaxNameBytes, "file name");
        ulong size = reader.ReadUInt64();
        if (size > long.MaxValue)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"file size {size} is out of range");
        }

        var hash = Convert.ToHexString(reader.ReadBytes(32));
        var path = reader.ReadString(MaxRelativePathBytes, "relative path");
        return new FoundFile(name, (long)size, hash, path);
    }
}

/// <summary>The server that holds the files of a response.</summary>
public sealed record SourceNode(Guid NodeId, string Name, string Endpoint)
{
    internal int WireLength => 16 + PayloadWriter.StringLength(Name) + PayloadWriter.StringLength(Endpoint);

    internal void Write(ref PayloadWriter writer)
    {
        writer.WriteGuid(NodeId);
        writer.WriteString(Name);
        writer.WriteString(Endpoint);
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

        return new SourceNode(nodeId, name, endpoint);
    }
}
