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
    /// sequence's ESC, a NUL...) and every other character a file name may not hold (<see cref="FileNames"/>: bidi
    /// controls, zero-width characters, lone surrogates) is written as <c>\uXXXX</c>, so the message stays one line
    /// that shows what came, in the order it came.
    /// </summary>
    public static string Escape(string value)
    {
        if (FileNames.IsShownAsItIs(value))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        for (int i = 0; i < value.Length; i++)
        {
            if (FileNames.IsHidden(value, i))
            {
                builder.Append("\\u").Append(((int)value[i]).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    builder.Append("\\u").Append(((int)value[++i]).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            else
            {
                builder.Append(value[i]);
                if (char.IsHighSurrogate(value[i]))
                {
                    builder.Append(value[++i]);
                }
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
