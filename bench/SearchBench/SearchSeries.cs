using System.Diagnostics;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Bench;

/// <summary>One search as the bench saw it.</summary>
/// <param name="FirstMs">From the first read of the results to the first result; NaN when none came.</param>
/// <param name="AllMs">To the result that made the expected count; NaN when the count was never reached.</param>
/// <param name="Refusal">The error code of a search the server refused or broke off (TooManySearches, NodeBusy...).</param>
internal sealed record SearchOutcome(double FirstMs, double AllMs, double EndMs, int Results, int Distinct, bool Correct, string? Problem, ProtocolError? Refusal = null);

/// <summary>Runs searches and tells whether each returned exactly the expected files.</summary>
internal static class SearchSeries
{
    /// <summary>
    /// Every node shares one file and the search asks for '*': the search ends with the last result (MaxResults is
    /// the number of nodes), at its timeout, or when it reached no other server.
    /// </summary>
    public static readonly FileQuery Query = new() { Names = ["file-*"] };

    /// <summary>Far above a search's normal time here; a search that misses files ends at it.</summary>
    public static readonly TimeSpan SearchTimeout = TimeSpan.FromSeconds(5);

    public static SearchOptions Options(int maxResults) => new() { Ttl = SearchLimits.MaxTtl, Timeout = SearchTimeout, MaxResults = maxResults };

    /// <summary>Reads a search to its end; the clock starts at the first read, which is when the search is sent.</summary>
    public static async Task<SearchOutcome> TimeAsync(IAsyncEnumerable<P2PSearchResult> search, IReadOnlySet<string> expected)
    {
        var names = new List<string>(expected.Count);
        double first = double.NaN, all = double.NaN;
        string? problem = null;
        ProtocolError? refusal = null;
        var watch = Stopwatch.StartNew();
        try
        {
            await foreach (var result in search)
            {
                if (names.Count == 0)
                {
                    first = watch.Elapsed.TotalMilliseconds;
                }

                names.Add(result.Name);
                if (names.Count == expected.Count)
                {
                    all = watch.Elapsed.TotalMilliseconds;
                }
            }
        }
        catch (Exception ex) when (ex is P2PException or OperationCanceledException or ArgumentException or IOException)
        {
            problem = $"{ex.GetType().Name}: {ex.Message}";
            refusal = (ex as P2PException)?.Code;
        }

        var end = watch.Elapsed.TotalMilliseconds;
        var distinct = names.Distinct(StringComparer.Ordinal).Count();
        var correct = problem is null && names.Count == expected.Count && distinct == expected.Count && names.All(expected.Contains);
        if (!correct && problem is null)
        {
            var missing = expected.Except(names, StringComparer.Ordinal).Take(5).ToList();
            problem = $"{names.Count} results, {distinct} distinct, after {end:0} ms"
                + (missing.Count > 0 ? $"; missing {string.Join(", ", missing)}{(expected.Count - distinct > missing.Count ? ", ..." : string.Empty)}" : string.Empty)
                + (names.Count > distinct ? "; some came twice" : string.Empty);
        }

        return new SearchOutcome(first, correct ? all : double.NaN, end, names.Count, distinct, correct, problem, refusal);
    }

    /// <summary>
    /// Searches one at a time, each with the network's counters settled before and after it, so the difference is
    /// that search's cost. Stops early (and says so) when the time budget is spent.
    /// </summary>
    public static async Task<SeriesResult> RunAsync(int searches, Func<int, Task<SearchOutcome>> search, Func<Task<CounterSnapshot>> readCounters, TimeSpan budget)
    {
        var result = new SeriesResult();
        var settleWithin = TimeSpan.FromSeconds(2);
        var (before, _) = await Settle.WaitAsync(readCounters, settleWithin);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < searches; i++)
        {
            if (watch.Elapsed > budget)
            {
                result.StoppedEarly = $"stopped after {i} of {searches} searches: the {budget.TotalSeconds:0} s budget of this part was spent";
                break;
            }

            var outcome = await search(i);
            var (after, settled) = await Settle.WaitAsync(readCounters, settleWithin);
            result.Add(outcome, after - before, settled);
            if (!outcome.Correct && result.Problems.Count < 5)
            {
                result.Problems.Add($"search {i}: {outcome.Problem}");
            }

            before = after;
        }

        return result;
    }
}

internal sealed class SeriesResult
{
    public List<SearchOutcome> Outcomes { get; } = [];

    public List<CounterSnapshot> Costs { get; } = [];

    public List<string> Problems { get; } = [];

    public int Unsettled { get; private set; }

    public string? StoppedEarly { get; set; }

    public int Failures => Outcomes.Count(o => !o.Correct);

    public IEnumerable<double> First => Outcomes.Where(o => !double.IsNaN(o.FirstMs)).Select(o => o.FirstMs);

    public IEnumerable<double> All => Outcomes.Where(o => o.Correct).Select(o => o.AllMs);

    public double Average(Func<CounterSnapshot, long> counter) => Costs.Count == 0 ? double.NaN : Costs.Average(c => (double)counter(c));

    public long Min(Func<CounterSnapshot, long> counter) => Costs.Count == 0 ? 0 : Costs.Min(counter);

    public long Max(Func<CounterSnapshot, long> counter) => Costs.Count == 0 ? 0 : Costs.Max(counter);

    public CounterSnapshot Total => CounterSnapshot.Sum(Costs);

    public void Add(SearchOutcome outcome, CounterSnapshot cost, bool settled)
    {
        Outcomes.Add(outcome);
        Costs.Add(cost);
        if (!settled)
        {
            Unsettled++;
        }
    }
}

internal static class SeriesReport
{
    /// <summary>Prints the figures of a series and returns its summary line.</summary>
    public static string Print(string prefix, string label, SeriesResult series, Topology topology, Report report)
    {
        var n = series.Outcomes.Count;
        var links = topology.Links.Count;
        var messages = series.Average(c => c.Cascaded);
        var ratio = messages / links;
        var oneWave = (double)topology.OneWaveFlood / links;
        var nodes = topology.Nodes;
        Report.Figure($"{prefix}.first p50/p99 ms", Stats.P50P99(series.First), $"(search sent to first result; {series.First.Count()} searches with a result)");
        Report.Figure($"{prefix}.all p50/p99 ms", Stats.P50P99(series.All), $"(search sent to the {nodes}th result; {series.All.Count()} correct searches)");
        Report.Figure($"{prefix}.failed searches", $"{series.Failures} of {n}", $"(correct: exactly the {nodes} distinct files)");
        foreach (var problem in series.Problems)
        {
            Report.Note(problem);
        }

        if (series.StoppedEarly is { } stopped)
        {
            Report.Note(stopped);
        }

        Report.Figure($"{prefix}.messages/search", $"{messages:0.0}", $"(Query frames sent, sum of RequestsCascaded; min {series.Min(c => c.Cascaded)}, max {series.Max(c => c.Cascaded)})");
        Report.Figure($"{prefix}.links", $"{links}");
        Report.Figure(
            $"{prefix}.messages/link",
            $"{ratio:0.00}",
            $"(flooding sends a request at most once each way over a link: <= 2.00; one wave reaching each node once sends at most (2*links-nodes+1)/links = {oneWave:0.00}): {(ratio <= 2 ? "within 2" : "ABOVE 2")}");
        var above = series.Costs.Count(c => c.Cascaded > 2 * links);
        Report.Figure(
            $"{prefix}.searches above 2/link",
            $"{above} of {n}",
            $"(most in one search: {series.Max(c => c.Cascaded)} frames = {(double)series.Max(c => c.Cascaded) / links:0.00}/link; a widened copy is cascaded again over links the request took already, docs/protocol.md 'Receiving a Query', step 5)");
        Report.Figure($"{prefix}.duplicates/search", $"{series.Average(c => c.Duplicates):0.0}", $"(DuplicateRequests; min {series.Min(c => c.Duplicates)}, max {series.Max(c => c.Duplicates)})");
        Report.Figure($"{prefix}.widened/search", $"{series.Average(c => c.Widened):0.0}", "(RequestsWidened: copies that came a shorter way and were cascaded again)");
        Report.Figure($"{prefix}.responses routed/search", $"{series.Average(c => c.Routed):0.0}", $"(ResponsesRouted: QueryHit frames passed on; DirectDeliveries {series.Total.Direct} in all)");
        var total = series.Total;
        if (total.RateLimited + total.QueueFull + total.SendQueueFull + total.Refused + total.DirectFailures + total.ResultsDropped > 0)
        {
            Report.Note($"dropped in all: RequestsRateLimited {total.RateLimited}, RequestsQueueFull {total.QueueFull}, SendQueueFull {total.SendQueueFull}, RequestsRefused {total.Refused}, DirectDeliveryFailures {total.DirectFailures}, ResultsDropped {total.ResultsDropped}");
        }

        if (series.Unsettled > 0)
        {
            Report.Note($"after {series.Unsettled} search(es) the counters did not settle within 2 s; those deltas may count part of a neighbour's cost");
        }

        report.Check(n > 0 && series.Failures == 0, $"{label}: {series.Failures} of {n} searches did not return exactly the {nodes} files");
        return $"{label}: {n} searches, failed {series.Failures}; first p50/p99 {Stats.P50P99(series.First)} ms; all {nodes} p50/p99 {Stats.P50P99(series.All)} ms; "
            + $"messages/search {messages:0.0} over {links} links = {ratio:0.00}/link (flooding <= 2, one wave <= {oneWave:0.00}; {above} searches above 2, most {(double)series.Max(c => c.Cascaded) / links:0.00}); duplicates/search {series.Average(c => c.Duplicates):0.0}";
    }
}
