
namespace P2PTransfer.Protocol;

/// <summary>
/// The query fields shared by Search and Query frames (docs/protocol.md, "Query fields"). Byte limits here only
/// bound what a receiver buffers; the query's own rules (<see cref="FileQuery.Compile"/>) are checked afterwards.
/// </summary>
internal static class QueryWire
{
    public const int MaxNameBytes = 1024;
    public const int MaxPatternBytes = 2048;
    public const int MaxExtensionBytes = 128;
    public const int MaxPathBytes = 4096;

    private const byte HasMinSize = 1;
    private const byte HasMaxSize = 2;
    private const byte HasHash = 4;
    private const byte HasPaths = 8;

    /// <summary>The largest encoding a receiver accepts.</summary>
    public const int MaxLength = 1 + 1 + (FileQuery.MaxNames * (2 + MaxNameBytes)) + 2 + MaxPatternBytes
        + 1 + (FileQuery.MaxExtensions * (2 + MaxExtensionBytes)) + 8 + 8 + 32
        + 1 + (FileQuery.MaxPaths * (2 + MaxPathBytes));

    public static int Length(FileQuery query) =>
        1 + 1 + query.Names.Sum(PayloadWriter.StringLength) + PayloadWriter.StringLength(query.Pattern ?? string.Empty)
        + 1 + query.Extensions.Sum(PayloadWriter.StringLength)
        + (query.MinSize is null ? 0 : 8) + (query.MaxSize is null ? 0 : 8) + (string.IsNullOrEmpty(query.Hash) ? 0 : 32)
        + (query.Paths.Count == 0 ? 0 : 1 + query.Paths.Sum(PayloadWriter.StringLength));

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when the query cannot be sent (checked before anything is queued);
    /// returns it compiled, for the sender's own answer.
    /// </summary>
    public static CompiledQuery EnsureSendable(FileQuery query, TimeSpan? regexBudget = null)
    {
        var compiled = query.Compile(regexBudget);
        foreach (var name in query.Names)
        {
            Text.Require(name, MaxNameBytes, "a name pattern");
        }

        Text.Require(query.Pattern ?? string.Empty, MaxPatternBytes, "the pattern");
        foreach (var path in query.Paths)
        {
            Text.Require(path, MaxPathBytes, "a path pattern");
        }

        return compiled;
    }

    public static void Write(ref PayloadWriter writer, FileQuery query)
    {
        bool hasHash = !string.IsNullOrEmpty(query.Hash);
        bool hasPaths = query.Paths.Count > 0;
        writer.WriteByte((byte)((query.MinSize is null ? 0 : HasMinSize) | (query.MaxSize is null ? 0 : HasMaxSize) | (hasHash ? HasHash : 0) | (hasPaths ? HasPaths : 0)));
        writer.WriteByte((byte)query.Names.Count);
        foreach (var name in query.Names)
        {
            writer.WriteString(name);
        }

        writer.WriteString(query.Pattern ?? string.Empty);
        writer.WriteByte((byte)query.Extensions.Count);
        foreach (var extension in query.Extensions)
        {
            writer.WriteString(extension);
        }

        if (query.MinSize is { } min)
        {
            writer.WriteUInt64((ulong)min);
        }

        if (query.MaxSize is { } max)
        {
            writer.WriteUInt64((ulong)max);
        }

        if (hasHash)
        {
            writer.WriteBytes(FileQuery.ParseHash(query.Hash!));
        }

        if (hasPaths)
        {
            writer.WriteByte((byte)query.Paths.Count);
            foreach (var path in query.Paths)
            {
                writer.WriteString(path);
            }
        }
    }

    public static FileQuery Read(ref PayloadReader reader)
    {
        byte flags = reader.ReadByte();
        if ((flags & ~(HasMinSize | HasMaxSize | HasHash | HasPaths)) != 0)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"query flags 0x{flags:X2} have unknown bits");
        }

        int nameCount = reader.ReadByte();
        if (nameCount > FileQuery.MaxNames)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"a query holds at most {FileQuery.MaxNames} names, not {nameCount}");
        }

        var names = new string[nameCount];
        for (int i = 0; i < nameCount; i++)
        {
            names[i] = reader.ReadString(MaxNameBytes, "name");
        }

        var pattern = reader.ReadString(MaxPatternBytes, "pattern");
        int extensionCount = reader.ReadByte();
        if (extensionCount > FileQuery.MaxExtensions)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"a query holds at most {FileQuery.MaxExtensions} extensions, not {extensionCount}");
        }

        var extensions = new string[extensionCount];
        for (int i = 0; i < extensionCount; i++)
        {
            extensions[i] = reader.ReadString(MaxExtensionBytes, "extension");
        }

        long? min = (flags & HasMinSize) != 0 ? ReadSize(ref reader) : null;
        long? max = (flags & HasMaxSize) != 0 ? ReadSize(ref reader) : null;
        string? hash = (flags & HasHash) != 0 ? Convert.ToHexString(reader.ReadBytes(32)) : null;
        var paths = (flags & HasPaths) != 0 ? ReadPaths(ref reader) : [];
        return new FileQuery
        {
            Names = names,
            Pattern = pattern.Length == 0 ? null : pattern,
            Extensions = extensions,
            MinSize = min,
            MaxSize = max,
            Hash = hash,
            Paths = paths,
        };
    }

    private static string[] ReadPaths(ref PayloadReader reader)
    {
        int pathCount = reader.ReadByte();
        if (pathCount is 0 or > FileQuery.MaxPaths)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"a query with paths holds 1 to {FileQuery.MaxPaths} of them, not {pathCount}");
        }

        var paths = new string[pathCount];
        for (int i = 0; i < pathCount; i++)
        {
            paths[i] = reader.ReadString(MaxPathBytes, "path");
        }

        return paths;
    }

    private static long ReadSize(ref PayloadReader reader)
    {
        ulong size = reader.ReadUInt64();
        return size <= long.MaxValue ? (long)size : throw new ProtocolException(ProtocolError.MalformedFrame, $"size {size} is out of range");
    }
}
