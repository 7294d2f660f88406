namespace P2PTransfer.Protocol.Messages;

/// <summary>The list of files in SearchResults and QueryHit frames: u16 count, then the files.</summary>
internal static class HitList
{
    /// <summary>Largest list a receiver buffers: a frame's worth of hits plus one hit that started below the mark.</summary>
    public const int MaxLength = 2 + ProtocolLimits.HitBytesPerFrame + 2 + FoundFile.MaxNameBytes + 8 + 32 + 2 + FoundFile.MaxRelativePathBytes;

    public static void Write(ref PayloadWriter writer, IReadOnlyList<FoundFile> files)
    {
        writer.WriteUInt16((ushort)files.Count);
        foreach (var file in files)
        {
            file.Write(ref writer);
        }
    }

    public static IReadOnlyList<FoundFile> Read(ref PayloadReader reader)
    {
        int count = reader.ReadUInt16();
        var files = new List<FoundFile>(Math.Min(count, 256));
        for (int i = 0; i < count; i++)
        {
            files.Add(FoundFile.Read(ref reader));
        }

        return files;
    }
}
