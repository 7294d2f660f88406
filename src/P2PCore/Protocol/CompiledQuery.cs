using System.Text.RegularExpressions;

namespace P2PTransfer.Protocol;

/// <summary>A validated query, ready for an index to run.</summary>
internal sealed record CompiledQuery(
    IReadOnlyList<Wildcard> Names,
    Regex? Pattern,
    IReadOnlyList<string> Extensions,
    long? MinSize,
    long? MaxSize,
    byte[]? Hash)
{
    // Time spent in the regular expression by this search (one compiled query serves one search).
    private readonly System.Diagnostics.Stopwatch _regexTime = new();

    /// <summary>Wildcards on the relative path, any of which must match; empty for every path.</summary>
    public IReadOnlyList<PathWildcard> Paths { get; init; } = [];

    /// <summary>True when the query has no path criterion or one of its path wildcards matches <paramref name="relativePath"/>.</summary>
    public bool PathMatches(string relativePath) => Paths.Count == 0 || Paths.Any(p => p.IsMatch(relativePath));

    /// <summary>Time the regular expression may take over all names of one search.</summary>
    public TimeSpan RegexBudget { get; init; } = FileQuery.RegexSearchBudget;

    /// <summary>Time spent in the regular expression so far by this search.</summary>
    public TimeSpan RegexTime => _regexTime.Elapsed;

    /// <summary>True when the regular expression matches; a match that runs past the timeout is a clear error.</summary>
    public bool PatternMatches(string name)
    {
        if (Pattern is null)
        {
            return true;
        }

        if (_regexTime.Elapsed > RegexBudget)
        {
            throw new ArgumentException(
                $"the pattern '{Pattern}' took longer than {RegexBudget.TotalSeconds:0.###} s over this node's files; narrow the search with -Name or -Extension");
        }

        _regexTime.Start();
        try
        {
            return Pattern.IsMatch(name);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new ArgumentException(
                $"the pattern '{Pattern}' took longer than {FileQuery.RegexMatchTimeout.TotalMilliseconds:0} ms on one name; simplify it");
        }
        finally
        {
            _regexTime.Stop();
        }
    }
}
