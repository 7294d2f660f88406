using System.Diagnostics;
using System.Globalization;
using System.Text;
using P2PTransfer.Search;

namespace P2PTransfer.Bench;

/// <summary>The search counters of one node, or summed over a network; written as one line between processes.</summary>
internal readonly record struct CounterSnapshot(
    long Started,
    long Received,
    long Processed,
    long Cascaded,
    long Duplicates,
    long Widened,
    long RateLimited,
    long Refused,
    long QueueFull,
    long Routed,
    long Direct,
    long DirectFailures,
    long SendQueueFull,
    long ResultsDropped)
{
    private static readonly string[] Names =
    [
        "started", "received", "processed", "cascaded", "duplicates", "widened", "ratelimited", "refused", "queuefull",
        "routed", "direct", "directfailures", "sendqueuefull", "resultsdropped",
    ];

    public static CounterSnapshot From(SearchCounters c) => new(
        c.SearchesStarted,
        c.RequestsReceived,
        c.RequestsProcessed,
        c.RequestsCascaded,
        c.DuplicateRequests,
        c.RequestsWidened,
        c.RequestsRateLimited,
        c.RequestsRefused,
        c.RequestsQueueFull,
        c.ResponsesRouted,
        c.DirectDeliveries,
        c.DirectDeliveryFailures,
        c.SendQueueFull,
        c.ResultsDropped);

    /// <summary>
    /// Nothing of the requests under way is left: every Query frame sent has arrived, and every request queued (the
    /// searches entered, and the frames not dropped on arrival) has been taken by a cascade worker and either
    /// answered, dropped as a duplicate, or cascaded again. Checked twice in a row before it is believed, since a
    /// widened request is counted just before it is cascaded.
    /// </summary>
    public bool Settled =>
        Received == Cascaded
        && Started + Received - RateLimited - Refused - QueueFull == Processed + Duplicates + Widened;

    public static CounterSnapshot operator +(CounterSnapshot a, CounterSnapshot b) => Combine(a, b, 1);

    public static CounterSnapshot operator -(CounterSnapshot a, CounterSnapshot b) => Combine(a, b, -1);

    public static CounterSnapshot Sum(IEnumerable<CounterSnapshot> snapshots) => snapshots.Aggregate(default(CounterSnapshot), (a, b) => a + b);

    public string Format()
    {
        var values = Values();
        var line = new StringBuilder();
        for (var i = 0; i < Names.Length; i++)
        {
            line.Append(i == 0 ? string.Empty : " ").Append(Names[i]).Append('=').Append(values[i].ToString(CultureInfo.InvariantCulture));
        }

        return line.ToString();
    }

    public static CounterSnapshot Parse(string line)
    {
        var values = new long[Names.Length];
        var seen = 0;
        foreach (var pair in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var index = equals < 0 ? -1 : Array.IndexOf(Names, pair[..equals]);
            if (index >= 0)
            {
                values[index] = long.Parse(pair[(equals + 1)..], CultureInfo.InvariantCulture);
                seen++;
            }
        }

        if (seen != Names.Length)
        {
            throw new FormatException($"not a counters line: '{line}'");
        }

        return FromValues(values);
    }

    private long[] Values() =>
        [Started, Received, Processed, Cascaded, Duplicates, Widened, RateLimited, Refused, QueueFull, Routed, Direct, DirectFailures, SendQueueFull, ResultsDropped];

    private static CounterSnapshot FromValues(long[] v) => new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13]);

    private static CounterSnapshot Combine(CounterSnapshot a, CounterSnapshot b, int sign)
    {
        var x = a.Values();
        var y = b.Values();
        return FromValues([.. x.Zip(y, (p, q) => p + (sign * q))]);
    }
}

internal static class Settle
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Reads the counters until they are settled and the same twice in a row, at most for <paramref name="within"/>;
    /// returns the last reading and whether it settled.
    /// </summary>
    public static async Task<(CounterSnapshot Counters, bool Settled)> WaitAsync(Func<Task<CounterSnapshot>> read, TimeSpan within)
    {
        var watch = Stopwatch.StartNew();
        var last = await read();
        while (watch.Elapsed < within)
        {
            await Task.Delay(Poll);
            var now = await read();
            if (now == last && now.Settled)
            {
                return (now, true);
            }

            last = now;
        }

        return (last, false);
    }
}
