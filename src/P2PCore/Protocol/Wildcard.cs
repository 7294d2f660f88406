using System.Text;
using System.Text.RegularExpressions;

namespace P2PTransfer.Protocol;

/// <summary>
/// PowerShell wildcards (<c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[a-z]</c>, backtick escapes), matched without regard to
/// case. One parser, two outputs: a SQLite GLOB over lower-case names (so the index can answer) and a .NET regex
/// (for exclusions and in-memory filters).
/// </summary>
internal sealed class Wildcard
{
    private enum Kind { Literal, AnyOne, AnyMany, Set }

    private readonly record struct Token(Kind Kind, string Text);

    private readonly Token[] _tokens;
    private Regex? _regex;

    private Wildcard(string pattern, Token[] tokens)
    {
        Pattern = pattern;
        _tokens = tokens;
    }

    public string Pattern { get; }

    /// <summary>True when the pattern matches every name (<c>*</c>, <c>**</c>).</summary>
    public bool MatchesEverything => _tokens.All(t => t.Kind == Kind.AnyMany);

    /// <summary>Parses a pattern; an unclosed <c>[</c> is an error and a trailing backtick stands for itself, as in PowerShell.</summary>
    public static Wildcard Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var tokens = new List<Token>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '`':
                    // As in PowerShell, a backtick at the very end stands for itself.
                    tokens.Add(new Token(Kind.Literal, (i + 1 < pattern.Length ? pattern[++i] : '`').ToString()));
                    break;
                case '*':
                    tokens.Add(new Token(Kind.AnyMany, "*"));
                    break;
                case '?':
                    tokens.Add(new Token(Kind.AnyOne, "?"));
                    break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0)
                    {
                        throw new ArgumentException($"the wildcard pattern '{pattern}' has a '[' without its ']'");
                    }

                    var set = pattern[(i + 1)..close];
                    tokens.Add(set.Length == 0 ? new Token(Kind.Literal, "[]") : new Token(Kind.Set, set));
                    i = close;
                    break;
                default:
                    tokens.Add(new Token(Kind.Literal, c.ToString()));
                    break;
            }
        }

        var wildcard = new Wildcard(pattern, [.. tokens]);
        try
        {
            // Built now so that a set PowerShell rejects (a reversed range such as [z-a]) fails here, not mid-scan.
            wildcard._regex = wildcard.BuildRegex();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the wildcard pattern '{pattern}' is not valid: {e.Message}", e);
        }

        return wildcard;
    }

    /// <summary>Name-matching is case-insensitive: names and patterns are compared in this form.</summary>
    public static string Fold(string name) => name.ToLowerInvariant();

    /// <summary>A SQLite GLOB pattern equivalent to this wildcard, for a column holding <see cref="Fold"/>ed names.</summary>
    public string ToGlob()
    {
        var glob = new StringBuilder();
        foreach (var token in _tokens)
        {
            switch (token.Kind)
            {
                case Kind.AnyMany:
                    glob.Append('*');
                    break;
                case Kind.AnyOne:
                    glob.Append('?');
                    break;
                case Kind.Set:
                    var set = Fold(token.Text);
                    if (set == "^")
                    {
                        glob.Append('^');
                        break;
                    }

                    // GLOB reads a leading '^' as negation; PowerShell has none, so move it.
                    if (set[0] == '^')
                    {
                        set = set[1..] + "^";
                    }

                    glob.Append('[').Append(set).Append(']');
                    break;
                default:
                    foreach (var ch in Fold(token.Text))
                    {
                        if (ch is '*' or '?' or '[')
                        {
                            glob.Append('[').Append(ch).Append(']');
                        }
                        else
                        {
                            glob.Append(ch);
                        }
                    }

                    break;
            }
        }

        return glob.ToString();
    }

    /// <summary>
    /// The longest run of plain literal characters; the name index can only narrow a search on a run of 3 or more.
    /// Escaped wildcard characters do not count: in GLOB they become one-character sets.
    /// </summary>
    public int LongestLiteralRun()
    {
        int longest = 0, run = 0;
        foreach (var token in _tokens)
        {
            run = token.Kind == Kind.Literal && token.Text.IndexOfAny(['*', '?', '[']) < 0 ? run + token.Text.Length : 0;
            longest = Math.Max(longest, run);
        }

        return longest;
    }

    public bool IsMatch(string name) => _regex!.IsMatch(name);

    private Regex BuildRegex()
    {
        var regex = new StringBuilder("^");
        foreach (var token in _tokens)
        {
            switch (token.Kind)
            {
                case Kind.AnyMany:
                    regex.Append(".*");
                    break;
                case Kind.AnyOne:
                    regex.Append('.');
                    break;
                case Kind.Set:
                    regex.Append('[');
                    foreach (var ch in token.Text)
                    {
                        regex.Append(ch is '\\' or '^' or '[' or ']' ? "\\" + ch : ch.ToString());
                    }

                    regex.Append(']');
                    break;
                default:
                    regex.Append(Regex.Escape(token.Text));
                    break;
            }
        }

        regex.Append('$');

        // Without backtracking a match is linear in the name, so a hostile pattern ('*a*a*a*...*b', from the network
        // as a path segment) cannot make one name cost much; the timeout is a backstop.
        return new Regex(
            regex.ToString(),
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline | RegexOptions.NonBacktracking,
            TimeSpan.FromSeconds(1));
    }

    public override string ToString() => Pattern;
}
