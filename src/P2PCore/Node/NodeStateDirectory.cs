using System.Text.RegularExpressions;
using P2PTransfer.Identity;
using P2PTransfer.Protocol;

namespace P2PTransfer.Node;

/// <summary>
/// A node's own folder: its key pair (node-key.pem, which its id derives from) and its share index (index.db). A lock file held for the node's lifetime
/// keeps two running nodes, in this process or another, from sharing one folder.
/// </summary>
internal partial class NodeStateDirectory : IDisposable
{
    private const string LockFileName = "node.lock";
    // Ids were random before they were derived from a key; the old file is removed so nothing reads it by mistake.
    private const string LegacyIdFileName = "node-id";
    private const int MaxDefaultNameSuffix = 32;
    private readonly FileStream _lock;

    private NodeStateDirectory(string path, FileStream lockFile, NodeKey key)
    {
        FullPath = path;
        _lock = lockFile;
        Key = key;
    }

    public string FullPath { get; }

    /// <summary>Made on first use, then the same on every start from this folder.</summary>
    public NodeKey Key { get; }

    /// <summary>The id derived from <see cref="Key"/>.</summary>
    public Guid NodeId => Key.Id;

    /// <summary>Where nodes keep their folders unless told otherwise.</summary>
    public static string DefaultRoot =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "P2PTransfer", "nodes");

    /// <summary>Node names are also folder names: letters, digits, '.', '_' and '-', the first a letter or digit, at most 64 characters.</summary>
    public static bool IsValidName(string name) => WireRules.IsNodeName(name);

    /// <summary>
    /// Picks the node's name and folder from the options and locks the folder. <paramref name="check"/> sees the
    /// folder's full path before anything is created there, and may refuse it by throwing.
    /// </summary>
    public static (string Name, NodeStateDirectory Directory) Resolve(NodeOptions options, Action<string>? check = null)
    {
        if (options.Name is { } given && !IsValidName(given))
        {
            throw new ArgumentException($"'{given}' is not a valid node name: use letters, digits, '.', '_' or '-' (at most 64), the first a letter or digit", nameof(options));
        }

        if (options.StateDirectory is { } explicitPath)
        {
            var full = Path.GetFullPath(explicitPath);
            var name = options.Name ?? SanitizeName(Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)));
            return (name, Open(full, check));
        }

        if (options.Name is { } named)
        {
            return (named, Open(Path.Combine(DefaultRoot, named), check));
        }

        // Unnamed nodes take the machine's name, then name-2, name-3...: stable identities in start order.
        var baseName = SanitizeName(Environment.MachineName.ToLowerInvariant());
        for (int suffix = 1; ; suffix++)
        {
            var candidate = suffix == 1 ? baseName : $"{baseName}-{suffix}";
            try
            {
                return (candidate, Open(Path.Combine(DefaultRoot, candidate), check));
            }
            catch (P2PException ex) when (ex.Code == ProtocolError.StateDirectoryInUse && suffix < MaxDefaultNameSuffix)
            {
            }
        }
    }

    /// <summary>Creates the folder if needed, locks it and reads (or creates) the node's key.</summary>
    public static NodeStateDirectory Open(string path, Action<string>? check = null)
    {
        check?.Invoke(Path.GetFullPath(path));
        Directory.CreateDirectory(path);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(path, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new P2PException(ProtocolError.StateDirectoryInUse, $"state directory '{path}' is in use by another running node; give this node another -Name or -StateDirectory", ex);
        }

        try
        {
            var key = NodeKey.LoadOrCreate(path);
            File.Delete(Path.Combine(path, LegacyIdFileName));
            return new NodeStateDirectory(path, lockFile, key);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Key.Dispose();
        _lock.Dispose();
    }

    private static string SanitizeName(string raw)
    {
        // A node name starts with a letter or digit (protocol.md section 5): '_node' becomes 'node', '___' becomes 'node'.
        var cleaned = InvalidNameCharacters().Replace(raw, "-").TrimStart('-', '.', '_').TrimEnd('-', '.');
        if (cleaned.Length == 0)
        {
            cleaned = "node";
        }

        return cleaned.Length > 64 ? cleaned[..64] : cleaned;
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex InvalidNameCharacters();
}
