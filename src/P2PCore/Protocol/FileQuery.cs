using System.Text.RegularExpressions;

namespace P2PTransfer.Protocol;

/// <summary>
/// What a search asks for; every criterion given must hold. The same model answers local searches and, over the
/// protocol, network searches, so its limits are part of the protocol (docs/protocol.md).
/// </summary>
public sealed class FileQuery
{
    public const int MaxNames = 16;
    public const int MaxNameLength = 256;
    public const int MaxPatternLength = 512;
    public const int MaxExtensions = 32;
    public const int MaxExtensionLength = 32;
    public const int MaxPaths = 8;
    public const int MaxPathLength = 1024;

    /// <summary>How long one regular-expression match may take before the search fails (hostile patterns).</summary>
    public static readonly TimeSpan RegexMatchTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>How long one search may spend matching a regular expression over all of a node's names.</summary>
    public static readonly TimeSpan RegexSearchBudget = TimeSpan.FromSeconds(5);

    /// <summary>PowerShell wildcards on the file name; a file matches if any of them matches. Empty means <c>*</c>.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];

    /// <summary>A .NET regular expression on the file name, case-insensitive.</summary>
    public string? Pattern { get; init; }

    /// <summary>Extensions (<c>pdf</c>, <c>.pdf</c> and <c>*.pdf</c> are the same); a file matches if it has any of them.</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];

    public long? MinSize { get; init; }

    public long? MaxSize { get; init; }

    /// <summary>Exact SHA-256 of the content, 64 hex digits (either case).</summary>
    public string? Hash { get; init; }

    /// <summary>
    /// Wildcards on the file's relative path (<c>share1/photos/*</c>; see <see cref="PathWildcard"/> for what <c>*</c>,
    /// <c>**</c> and a folder mean); a file matches if any of them matches. Empty means every path.
    /// </summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    public static FileQuery All { get; } = new();

    /// <summary>Checks every criterion; throws <see cref="ArgumentException"/> with a clear message (as a search would).</summary>
    public void Validate() => Compile();

    /// <summary>
    /// Checks every criterion and returns the compiled form; throws <see cref="ArgumentException"/> with a clear message.
    /// <paramref name="regexBudget"/> bounds the time the regular expression may take over all names (default <see cref="RegexSearchBudget"/>).
    /// </summary>
    internal CompiledQuery Compile(TimeSpan? regexBudget = null)
    {
        if (Names.Count > MaxNames)
        {
            throw new ArgumentException($"a query takes at most {MaxNames} names; this one has {Names.Count}");
        }

        var names = new List<Wildcard>();
        foreach (var name in Names)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException("a name pattern is empty; use '*' for every name");
            }

            if (name.Length > MaxNameLength)
            {
                throw new ArgumentException($"the name pattern is {name.Length} characters long; the limit is {MaxNameLength}");
            }

            if (name.Contains('/'))
            {
                throw new ArgumentException($"the name pattern '{Shorten(name)}' holds a '/', but a file name has no folders; to match the relative path, use -Path '{Shorten(name)}'");
            }

            names.Add(Wildcard.Parse(name));
        }

        if (names.Any(n => n.MatchesEverything))
        {
            names.Clear();
        }

        Regex? regex = null;
        if (!string.IsNullOrEmpty(Pattern))
        {
            if (Pattern.Length > MaxPatternLength)
            {
                throw new ArgumentException($"the pattern is {Pattern.Length} characters long; the limit is {MaxPatternLength}");
            }

            try
            {
                regex = new Regex(Pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, RegexMatchTimeout);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"the pattern '{Pattern}' is not a valid regular expression: {e.Message}", e);
            }
        }

        if (Extensions.Count > MaxExtensions)
        {
            throw new ArgumentException($"a query takes at most {MaxExtensions} extensions; this one has {Extensions.Count}");
        }

        var extensions = Extensions.Select(NormalizeExtension).Distinct().ToArray();
        if (MinSize < 0 || MaxSize < 0)
        {
            throw new ArgumentException("sizes cannot be negative");
        }

        if (MinSize > MaxSize)
        {
            throw new ArgumentException($"the minimum size ({MinSize}) is larger than the maximum size ({MaxSize})");
        }

        byte[]? hash = null;
        if (!string.IsNullOrEmpty(Hash))
        {
            hash = ParseHash(Hash);
        }

        if (Paths.Count > MaxPaths)
        {
            throw new ArgumentException($"a query takes at most {MaxPaths} paths; this one has {Paths.Count}");
        }

        var paths = new List<PathWildcard>();
        foreach (var path in Paths)
        {
            if (string.IsNullOrEmpty(path))
            {
                throw new ArgumentException("a path pattern is empty; use '*' for every path");
            }

            if (path.Length > MaxPathLength)
            {
                throw new ArgumentException($"the path pattern is {path.Length} characters long; the limit is {MaxPathLength}");
            }

            paths.Add(PathWildcard.Parse(path));
        }

        if (paths.Any(p => p.MatchesEverything))
        {
            paths.Clear();
        }

        return new CompiledQuery(names, regex, extensions, MinSize, MaxSize, hash) { Paths = paths, RegexBudget = regexBudget ?? RegexSearchBudget };
    }

    /// <summary>Parses a SHA-256 written as 64 hex digits.</summary>
    public static byte[] ParseHash(string hash)
    {
        var trimmed = hash.Trim();
        if (trimmed.Length != 64 || !trimmed.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"'{Shorten(hash)}' is not a SHA-256 hash (64 hex digits, as Get-FileHash prints)");
        }

        return Convert.FromHexString(trimmed);
    }

    /// <summary>
    /// The extension of a file name as the index stores it: what .NET and PowerShell call the extension
    /// (<c>.gitignore</c> is one), lower case, without the dot; empty when there is none.
    /// </summary>
    public static string ExtensionOf(string fileName) => Wildcard.Fold(Path.GetExtension(fileName).TrimStart('.'));

    private static string NormalizeExtension(string extension)
    {
        var trimmed = extension.Trim();
        trimmed = trimmed.StartsWith("*.", StringComparison.Ordinal) ? trimmed[2..] : trimmed.TrimStart('.');
        if (trimmed.Contains('.'))
        {
            throw new ArgumentException($"'{Shorten(extension)}' has a dot inside; a file's extension is what follows its last dot ('{trimmed[(trimmed.LastIndexOf('.') + 1)..]}'), so use -Name '*.{trimmed}' for names ending this way");
        }

        if (trimmed.Length == 0 || trimmed.Length > MaxExtensionLength || trimmed.IndexOfAny(['*', '?', '[', '/', '\\']) >= 0)
        {
            throw new ArgumentException($"'{Shorten(extension)}' is not an extension (write pdf or .pdf, up to {MaxExtensionLength} characters)");
        }

        return Wildcard.Fold(trimmed);
    }

    // Long user input is cut in error messages.
    private static string Shorten(string value) => value.Length <= 80 ? value : value[..77] + "...";
}
