namespace P2PTransfer.Search;

/// <summary>How far and how long one network search goes.</summary>
public sealed class SearchOptions
{
    /// <summary>Links the search may travel from the entry server; more than <see cref="SearchLimits.MaxTtl"/> is clamped.</summary>
    public int Ttl { get; init; } = SearchLimits.DefaultTtl;

    /// <summary>How long the entry server gathers responses; at most <see cref="SearchLimits.MaxTimeout"/>.</summary>
    public TimeSpan Timeout { get; init; } = SearchLimits.DefaultTimeout;

    /// <summary>The search ends once this many results have arrived.</summary>
    public int MaxResults { get; init; } = int.MaxValue;

    /// <summary>Receives a line per step of the search's route (for -Verbose); called on engine threads.</summary>
    public Action<string>? Trace { get; init; }

    internal int ClampedTtl => Math.Clamp(Ttl, 0, SearchLimits.MaxTtl);

    internal TimeSpan ClampedTimeout => Timeout <= TimeSpan.Zero ? TimeSpan.Zero : Timeout > SearchLimits.MaxTimeout ? SearchLimits.MaxTimeout : Timeout;
}
