using System.Text;

namespace P2PTransfer.Protocol;

/// <summary>String helpers for wire fields with byte limits.</summary>
public static class Text
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
