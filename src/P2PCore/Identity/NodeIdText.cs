namespace P2PTransfer.Identity;

/// <summary>
/// The form of a node id that people read and compare: its 16 bytes in base32 (RFC 4648 alphabet, 26 characters),
/// each 13-character half followed by a Luhn mod 32 check character, in four groups of seven:
/// <c>MFRGGZD-FMZTWQ2-LKNSXG4-3BOMRWA</c>. A mistyped character is caught by the check.
/// </summary>
public static class NodeIdText
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const int HalfLength = 13;

    /// <summary>The display form of <paramref name="id"/>.</summary>
    public static string Format(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        var base32 = Base32(bytes);
        var withChecks = string.Concat(base32[..HalfLength], LuhnCharacter(base32[..HalfLength]).ToString(), base32[HalfLength..], LuhnCharacter(base32[HalfLength..]).ToString());
        return string.Join('-', withChecks.Chunk(7).Select(chunk => new string(chunk)));
    }

    /// <summary>
    /// Reads a node id in the display form (dashes and case optional, check characters verified) or as a GUID's text.
    /// </summary>
    public static bool TryParse(string? text, out Guid id)
    {
        id = Guid.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var trimmed = text.Trim();
        if (Guid.TryParse(trimmed, out id))
        {
            return id != Guid.Empty;
        }

        var compact = trimmed.Replace("-", string.Empty, StringComparison.Ordinal).ToUpperInvariant();
        if (compact.Length != 2 * (HalfLength + 1) || compact.Any(c => Alphabet.IndexOf(c) < 0))
        {
            return false;
        }

        var first = compact[..HalfLength];
        var second = compact[(HalfLength + 1)..^1];
        if (compact[HalfLength] != LuhnCharacter(first) || compact[^1] != LuhnCharacter(second))
        {
            return false;
        }

        var bytes = FromBase32(first + second);
        if (bytes is null)
        {
            return false;
        }

        id = new Guid(bytes, bigEndian: true);
        return id != Guid.Empty;
    }

    private static string Base32(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[(bytes.Length * 8 + 4) / 5];
        int buffer = 0, bits = 0, at = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[at++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            chars[at] = Alphabet[(buffer << (5 - bits)) & 31];
        }

        return new string(chars);
    }

    private static byte[]? FromBase32(string text)
    {
        var bytes = new byte[16];
        int buffer = 0, bits = 0, at = 0;
        foreach (var c in text)
        {
            buffer = (buffer << 5) | Alphabet.IndexOf(c);
            bits += 5;
            if (bits >= 8)
            {
                bytes[at++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
            }
        }

        // 26 characters carry 130 bits: the last 2 must be zero, or two texts would name one id.
        return (buffer & ((1 << bits) - 1)) == 0 ? bytes : null;
    }

    // Luhn mod N over the base32 alphabet (the algorithm Syncthing's device ids use).
    private static char LuhnCharacter(string text)
    {
        int factor = 1, sum = 0, n = Alphabet.Length;
        foreach (var c in text)
        {
            var addend = factor * Alphabet.IndexOf(c);
            factor = factor == 2 ? 1 : 2;
            sum += (addend / n) + (addend % n);
        }

        return Alphabet[(n - (sum % n)) % n];
    }
}
