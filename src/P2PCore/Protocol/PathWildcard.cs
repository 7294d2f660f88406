using System.Text;

namespace P2PTransfer.Protocol;

/// <summary>
/// A wildcard over a file's relative path (<c>share1/photos/2024/*.jpg</c>), matched the way <c>Copy-Item -Recurse</c>
/// picks items: the pattern is cut at <c>/</c> (and <c>\</c>, as PowerShell reads paths) into segments, each a
/// PowerShell wildcard (<see cref="Wildcard"/>) matched against one folder or file name, so <c>*</c> and <c>?</c>
/// never cross a separator; a segment that is exactly <c>**</c> stands for any number of folders, zero or more; and
/// a pattern that matches a folder matches every file below it. So <c>photos/*</c> is everything in
/// <c>photos</c>, subfolders included, <c>photos/*.jpg</c> the JPEGs directly in it, and <c>photos/**/*.jpg</c> the
/// JPEGs at any depth in it. Empty segments (a leading, trailing or doubled separator) are ignored.
/// </summary>
internal sealed class PathWildcard
{
    private readonly Wildcard?[] _segments; // null: '**'

    private PathWildcard(string pattern, Wildcard?[] segments)
    {
        Pattern = pattern;
        _segments = segments;
    }

    public string Pattern { get; }

    /// <summary>True when every file matches: a single segment that matches every name, or only <c>**</c> segments.</summary>
    public bool MatchesEverything =>
        _segments.All(s => s is null) || (_segments.Length == 1 && _segments[0]!.MatchesEverything);

    /// <summary>Parses a path pattern; <see cref="ArgumentException"/> when it has no segment or a segment is not a valid wildcard.</summary>
    public static PathWildcard Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var segments = new List<Wildcard?>();
        foreach (var segment in Split(pattern))
        {
            try
            {
                segments.Add(segment == "**" ? null : Wildcard.Parse(segment));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"the path pattern '{pattern}' is not valid: {e.Message}", e);
            }
        }

        return segments.Count == 0
            ? throw new ArgumentException($"the path pattern '{pattern}' names no folder or file; use '*' for every file")
            : new PathWildcard(pattern, [.. segments]);
    }

    /// <summary>True when the pattern matches <paramref name="relativePath"/> ('/'-separated) or a folder that holds it.</summary>
    public bool IsMatch(string relativePath)
    {
        var names = relativePath.Split('/');

        // reached[i]: the segments so far can match exactly the first i names. A name is tested only where the
        // segments before it reached, and the walk stops once nothing is reached, so a pattern costs at most
        // (names + 1)² wildcard tests however long it is and however many '**' it has; each test is linear in the
        // name (Wildcard's regex does not backtrack).
        var reached = new bool[names.Length + 1];
        reached[0] = true;
        foreach (var segment in _segments)
        {
            var next = new bool[names.Length + 1];
            if (segment is null)
            {
                // '**': zero or more whole names.
                var any = false;
                for (var i = 0; i <= names.Length; i++)
                {
                    any |= reached[i];
                    next[i] = any;
                }
            }
            else
            {
                for (var i = 1; i <= names.Length; i++)
                {
                    next[i] = reached[i - 1] && segment.IsMatch(names[i - 1]);
                }
            }

            reached = next;
            if (!reached.Contains(true))
            {
                // Nothing can match any more: the rest of the pattern costs nothing.
                return false;
            }
        }

        // The whole path, or a folder that holds it (at least one name: '**' alone does not match nothing).
        return reached.Skip(1).Any(r => r);
    }

    /// <summary>
    /// False when no path that starts with <paramref name="firstName"/> can match (the first segment rules it out):
    /// lets an index skip a shared folder whose name does not fit.
    /// </summary>
    public bool MayMatchBelow(string firstName) => _segments[0] is not { } first || first.IsMatch(firstName);

    public override string ToString() => Pattern;

    // Cuts at unescaped '/' and '\'; a backtick keeps the next character (with the backtick, for the wildcard parser).
    private static IEnumerable<string> Split(string pattern)
    {
        var segment = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '`' && i + 1 < pattern.Length)
            {
                segment.Append(c).Append(pattern[++i]);
            }
            else if (c is '/' or '\\')
            {
                if (segment.Length > 0)
                {
                    yield return segment.ToString();
                    segment.Clear();
                }
            }
            else
            {
                segment.Append(c);
            }
        }

        if (segment.Length > 0)
        {
            yield return segment.ToString();
        }
    }
}
