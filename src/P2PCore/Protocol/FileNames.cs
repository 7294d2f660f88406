using System.Globalization;

namespace P2PTransfer.Protocol;

/// <summary>
/// Which characters a file name, and each segment of a relative path, may not hold (docs/protocol.md section 13):
/// those that are not shown as themselves and so let a name pass for another. A name that holds one is never
/// announced by a server and never written by a downloader. The rule goes by Unicode general category:
/// <list type="bullet">
/// <item>Cf, format characters: the bidi controls (U+061C, U+200E, U+200F, U+202A-202E, U+2066-2069, which make
/// <c>\u202Egnp.exe</c> show as <c>exe.png</c>), the zero-width characters (U+200B-200D, U+2060, U+FEFF), the soft
/// hyphen U+00AD and every other Cf character;</item>
/// <item>Cc, control characters (U+0000-001F, U+007F-009F);</item>
/// <item>Zl and Zp, the line and paragraph separators U+2028 and U+2029;</item>
/// <item>a lone surrogate (no character at all).</item>
/// </list>
/// </summary>
internal static class FileNames
{
    /// <summary>The index of the first character <paramref name="name"/> may not hold; -1 when it holds none.</summary>
    public static int IndexOfHidden(string name)
    {
        for (int i = 0; i < name.Length; i++)
        {
            if (IsHidden(name, i))
            {
                return i;
            }

            i += char.IsHighSurrogate(name[i]) ? 1 : 0;
        }

        return -1;
    }

    /// <summary>True when <paramref name="name"/> holds no character the rule refuses.</summary>
    public static bool IsShownAsItIs(string name) => IndexOfHidden(name) < 0;

    /// <summary>
    /// Null when <paramref name="name"/> may be used, else why not, for a message:
    /// <c>it holds U+202E (a bidi control or invisible character)</c>.
    /// </summary>
    public static string? WhyRefused(string name)
    {
        int at = IndexOfHidden(name);
        if (at < 0)
        {
            return null;
        }

        return char.IsSurrogate(name[at])
            ? $"it holds a lone surrogate U+{(int)name[at]:X4} (not a character)"
            : char.IsControl(name[at])
                ? $"it holds the control character U+{(int)name[at]:X4}"
                : $"it holds U+{(int)name[at]:X4} (a bidi control or invisible character, which would make the name show as another)";
    }

    /// <summary>True when the character at <paramref name="index"/> (a whole surrogate pair counts as one) is refused.</summary>
    internal static bool IsHidden(string text, int index)
    {
        char c = text[index];
        if (char.IsHighSurrogate(c))
        {
            return index + 1 >= text.Length || !char.IsLowSurrogate(text[index + 1])
                || CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[index + 1])) is UnicodeCategory.Format;
        }

        return char.IsLowSurrogate(c) || CharUnicodeInfo.GetUnicodeCategory(c)
            is UnicodeCategory.Format or UnicodeCategory.Control or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
    }
}
