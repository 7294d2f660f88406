namespace P2PTransfer.Protocol;

/// <summary>A file a server found in its own index, as it travels in a response.</summary>
internal sealed record FoundFile(string Name, long Size, string Hash, string RelativePath)
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
