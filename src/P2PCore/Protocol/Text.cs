using System.Text;

namespace P2PTransfer.Protocol;

/// <summary>String helpers for wire fields with byte limits.</summary>
internal static class Text
{
    /// <summary>Cuts <paramref name="value"/> to at most <paramref name="maxBytes"/> UTF-8 bytes, never inside a character.</summary>
    public static string Truncate(string value, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(value) <= maxBytes)
        {
            return value;
        }

        var builder = new StringBuilder();
        int bytes = 0;
        foreach (var rune in value.EnumerateRunes())
        {
            bytes += rune.Utf8SequenceLength;
            if (bytes > maxBytes)
            {
                break;
            }

            builder.Append(rune.ToString());
        }

        return builder.ToString();
    }

    /// <summary>
    /// A received string made fit for an error message: every control character (a line break, an escape
    /// sequence's ESC, a NUL...) is written as <c>\uXXXX</c>, so the message stays one line that shows what came.
    /// </summary>
    public static string Escape(string value)
    {
        if (!value.Any(char.IsControl))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Throws when a value this node is about to send would break a limit of the protocol.</summary>
    public static string Require(string value, int maxBytes, string field)
    {
        int count = Encoding.UTF8.GetByteCount(value);
        if (count > maxBytes)
        {
            throw new ArgumentException($"{field} is {count} bytes of UTF-8; the protocol allows {maxBytes}", field);
        }

        return value;
    }
}
