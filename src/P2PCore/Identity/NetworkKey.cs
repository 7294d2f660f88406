using System.Security.Cryptography;

namespace P2PTransfer.Identity;

/// <summary>
/// A private network's key: 32 random bytes that every member holds. Its text form is
/// <c>p2p-network-key-v1:</c> followed by the bytes in base64url without padding (43 characters), so a file or a
/// secret store says what it holds. Nodes prove they hold it on every connection without sending it (docs/protocol.md).
/// </summary>
public static class NetworkKey
{
    /// <summary>Bytes of a network key.</summary>
    public const int Length = 32;

    /// <summary>What the text form starts with.</summary>
    public const string Prefix = "p2p-network-key-v1:";

    /// <summary>A new key, in its text form.</summary>
    public static string New() => Format(RandomNumberGenerator.GetBytes(Length));

    /// <summary>The text form of a key's bytes.</summary>
    public static string Format(ReadOnlySpan<byte> key)
    {
        if (key.Length != Length)
        {
            throw new ArgumentException($"a network key is {Length} bytes, not {key.Length}", nameof(key));
        }

        return Prefix + Convert.ToBase64String(key).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The key's bytes from its text form (white space around it ignored); <see cref="FormatException"/> saying what is wrong otherwise.</summary>
    public static byte[] Parse(string text)
    {
        var trimmed = text.Trim();
        if (!trimmed.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new FormatException($"a network key starts with '{Prefix}' (make one with New-P2PNetworkKey)");
        }

        var body = trimmed[Prefix.Length..];
        byte[] bytes;
        try
        {
            bytes = body.Length == 43 && body.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                ? Convert.FromBase64String(body.Replace('-', '+').Replace('_', '/') + "=")
                : [];
        }
        catch (FormatException)
        {
            bytes = [];
        }

        if (bytes.Length != Length || Format(bytes) != trimmed)
        {
            throw new FormatException($"a network key is '{Prefix}' followed by {Length} bytes in base64url (43 characters); this one is damaged");
        }

        return bytes;
    }

    /// <summary>Reads a key file (its text form); <see cref="FormatException"/> naming the file when it holds no key.</summary>
    public static byte[] ReadFile(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (FormatException ex)
        {
            throw new FormatException($"'{path}' holds no network key: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Writes a key's text form to a new file that only its owner may read and write; an existing file is replaced
    /// only with <paramref name="overwrite"/>.
    /// </summary>
    public static void WriteFile(string path, string text, bool overwrite = false)
    {
        Parse(text);
        var options = new FileStreamOptions { Mode = overwrite ? FileMode.Create : FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.WriteLine(text);
        }

        if (!OperatingSystem.IsWindows())
        {
            // An existing file keeps its mode when it is replaced: make it the owner's only.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
