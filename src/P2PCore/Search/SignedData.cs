using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>
/// The bytes a signature covers (docs/protocol.md section 14, "Signatures"): a context label that says what is
/// signed, then the fields as they are encoded on the wire. A signature for one purpose never passes for another.
/// </summary>
internal static class SignedData
{
    /// <summary>"P2PTransfer source v2" and a zero byte: what a source signs its responses under.</summary>
    public static ReadOnlySpan<byte> SourceLabel => "P2PTransfer source v2\0"u8;

    /// <summary>"P2PTransfer entry v2" and a zero byte: what an entry server signs its request under.</summary>
    public static ReadOnlySpan<byte> EntryLabel => "P2PTransfer entry v2\0"u8;

    /// <summary>label, request id, batch, the source's node id, name and endpoint, then the hit list as encoded.</summary>
    public static byte[] Response(Guid requestId, ushort batch, Guid nodeId, string name, string endpoint, IReadOnlyList<FoundFile> files)
    {
        int length = SourceLabel.Length + 16 + 2 + 16 + PayloadWriter.StringLength(name) + PayloadWriter.StringLength(endpoint) + 2 + files.Sum(f => f.WireLength);
        var data = new byte[length];
        var writer = new PayloadWriter(data);
        writer.WriteBytes(SourceLabel);
        writer.WriteGuid(requestId);
        writer.WriteUInt16(batch);
        writer.WriteGuid(nodeId);
        writer.WriteString(name);
        writer.WriteString(endpoint);
        Protocol.Messages.HitList.Write(ref writer, files);
        return data;
    }

    /// <summary>label, request id, the entry server's node id and endpoint.</summary>
    public static byte[] Entry(Guid requestId, RouteHop entry)
    {
        var data = new byte[EntryLabel.Length + 16 + 16 + PayloadWriter.StringLength(entry.Endpoint)];
        var writer = new PayloadWriter(data);
        writer.WriteBytes(EntryLabel);
        writer.WriteGuid(requestId);
        writer.WriteGuid(entry.NodeId);
        writer.WriteString(entry.Endpoint);
        return data;
    }
}
