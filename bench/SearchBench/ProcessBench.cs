using System.Diagnostics;
using P2PTransfer.Client;

namespace P2PTransfer.Bench;

/// <summary>
/// Nodes in processes of their own on 127.0.0.101.., each sharing one file, linked at random (average degree 4);
/// this process is a pure client that connects to a random node for each search.
/// </summary>
internal static class ProcessBench
{
    private const int FirstHost = 101;
    private const int WarmupRounds = 3;
    private static readonly TimeSpan SeriesBudget = TimeSpan.FromSeconds(60);

    // Children stop by themselves after this, whatever happens to the bench.
    private static readonly TimeSpan ChildLifetime = TimeSpan.FromMinutes(8);

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var count = options.ProcessNodes;
        var random = new Random(options.Seed + 1);
        var topology = Topology.Random(count, 2 * count, random);
        Report.Section($"3. {count} nodes in separate processes: {options.Searches} searches one at a time by a pure client, each through a random node");
        Report.Note($"topology (seed {options.Seed} + 1): {topology.Describe()}; a random spanning tree, then random extra links");
        Report.Note($"node pI ('SearchBench node') on 127.0.0.{FirstHost + 0}..127.0.0.{FirstHost + count - 1}, shares file-pI.txt and dials the earlier nodes it has a link with");
        Report.Note($"each search: NodeClient.ConnectAsync to a random node (not timed), SearchAsync('file-*', TTL 7, MaxResults {count}, timeout {SearchSeries.SearchTimeout.TotalSeconds:0} s) read to its end");

        var root = Path.Combine(options.Directory, "procs");
        var children = new ChildNode[count];
        try
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                var share = Path.Combine(root, $"share-p{i}");
                Directory.CreateDirectory(share);
                await File.WriteAllTextAsync(Path.Combine(share, $"file-p{i}.txt"), $"the file of node p{i}");
                var dial = topology.Neighbours[i].Where(j => j < i).Order().Select(j => children[j].Endpoint);
                children[i] = await ChildNode.StartAsync($"p{i}", $"127.0.0.{FirstHost + i}", share, Path.Combine(root, $"state-p{i}"), dial, ChildLifetime, TimeSpan.FromSeconds(60));
            }

            var linked = await WaitLinkedAsync(children, topology);
            Report.Note($"{count} processes started, indexed and linked in {watch.Elapsed.TotalSeconds:0.0} s (not counted)");
            report.Check(linked, "the multi-process network did not reach its topology within 15 s");
            if (!linked)
            {
                return;
            }

            var expected = Enumerable.Range(0, count).Select(i => $"file-p{i}.txt").ToHashSet(StringComparer.Ordinal);
            async Task<CounterSnapshot> ReadCounters() => CounterSnapshot.Sum(await Task.WhenAll(children.Select(c => c.CountersAsync())));
            async Task<SearchOutcome> SearchThrough(int entry)
            {
                NodeClient client;
                try
                {
                    client = await NodeClient.ConnectAsync(children[entry].Endpoint, TimeSpan.FromSeconds(5));
                }
                catch (Exception ex) when (ex is Protocol.P2PException or IOException or OperationCanceledException)
                {
                    return new SearchOutcome(double.NaN, double.NaN, 0, 0, 0, false, $"cannot connect to p{entry}: {ex.Message}");
                }

                await using (client)
                {
                    return await SearchSeries.TimeAsync(client.SearchAsync(SearchSeries.Query, SearchSeries.Options(count)), expected);
                }
            }

            // Warm-up: every process enters searches of its own and answers many (JIT, SQLite statements); not counted.
            var warmup = Stopwatch.StartNew();
            for (var round = 0; round < WarmupRounds; round++)
            {
                for (var i = 0; i < count; i++)
                {
                    await SearchThrough(i);
                }
            }

            Report.Note($"{WarmupRounds * count} warm-up searches, {WarmupRounds} entered at each node ({warmup.Elapsed.TotalSeconds:0.0} s, not counted); counters ('counters' to every process) settled before and after each search");
            var series = await SearchSeries.RunAsync(options.Searches, _ => SearchThrough(random.Next(count)), ReadCounters, SeriesBudget);
            report.Summary(SeriesReport.Print("procs", $"{count} processes", series, topology, report));

            var warnings = await Task.WhenAll(children.Select(async c => (c.Name, Line: await c.AskAsync("warnings"))));
            foreach (var (name, line) in warnings.Where(w => w.Line != "warnings 0").Take(10))
            {
                Report.Note($"engine log of {name}: {line}");
            }
        }
        catch (Exception ex) when (ex is Protocol.P2PException or IOException or InvalidOperationException or TimeoutException or OperationCanceledException or FormatException)
        {
            report.Check(false, $"the multi-process part stopped: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            var started = children.Where(c => c is not null).ToList();
            await Task.WhenAll(started.Select(c => c.DisposeAsync().AsTask()));
            Report.Note($"{started.Count} node processes stopped");
        }
    }

    /// <summary>Waits until every process lists as many links as the topology gives it (bounded).</summary>
    private static async Task<bool> WaitLinkedAsync(ChildNode[] children, Topology topology)
    {
        var watch = Stopwatch.StartNew();
        int[] peers = [];
        while (watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            peers = await Task.WhenAll(children.Select(c => c.PeersAsync()));
            if (peers.Select((p, i) => p == topology.Degree(i)).All(ok => ok))
            {
                return true;
            }

            await Task.Delay(50);
        }

        Report.Note("links missing: " + string.Join(", ", peers.Select((p, i) => (p, i)).Where(x => x.p != topology.Degree(x.i)).Take(5).Select(x => $"p{x.i} has {x.p} of {topology.Degree(x.i)}")));
        return false;
    }
}
