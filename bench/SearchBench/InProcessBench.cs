using System.Diagnostics;
using P2PTransfer.Client;
using P2PTransfer.Common;
using P2PTransfer.Index;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Bench;

/// <summary>
/// Nodes in this process on 127.0.0.1..N, each sharing one file, linked at random (average degree 4): searches one
/// at a time entered at random nodes, then pure clients searching back to back through one entry server.
/// </summary>
internal static class InProcessBench
{
    private static readonly TimeSpan SeriesBudget = TimeSpan.FromSeconds(60);

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var count = options.Nodes;
        var random = new Random(options.Seed);
        var topology = Topology.Random(count, 2 * count, random);
        Report.Section($"1. {count} nodes in one process: {options.Searches} searches one at a time, entered at random nodes");
        Report.Note($"topology (seed {options.Seed}): {topology.Describe()}; a random spanning tree, then random extra links");
        Report.Note($"nodes n0..n{count - 1} on 127.0.0.1..127.0.0.{count}, free ports; node nI shares one file, file-nI.txt");
        Report.Note($"each search: P2PNode.SearchAsync('file-*', TTL {SearchSeries.Options(count).Ttl}, MaxResults {count}, timeout {SearchSeries.SearchTimeout.TotalSeconds:0} s) read to its end");

        var root = Path.Combine(options.Directory, "inproc");
        var nodes = new List<P2PNode>();
        try
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                var share = Path.Combine(root, $"share-n{i}");
                Directory.CreateDirectory(share);
                await File.WriteAllTextAsync(Path.Combine(share, $"file-n{i}.txt"), $"the file of node n{i}");
                nodes.Add(await P2PNode.StartAsync(new NodeOptions
                {
                    Name = $"n{i}",
                    ListenAddress = $"127.0.0.{i + 1}",
                    Port = 0,
                    StateDirectory = Path.Combine(root, $"state-n{i}"),
                    Index = new IndexOptions { Shares = [share] },
                    DrainTimeout = TimeSpan.FromSeconds(1),
                }));
            }

            using (var idle = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                foreach (var node in nodes)
                {
                    await node.Index.WaitIdleAsync(idle.Token);
                }
            }

            foreach (var (low, high) in topology.Links)
            {
                using var dial = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await nodes[high].ConnectPeerAsync(nodes[low].Endpoint, dial.Token);
            }

            var linked = await WaitLinkedAsync(nodes, topology);
            Report.Note($"started, indexed and linked in {watch.Elapsed.TotalSeconds:0.0} s (not counted)");
            report.Check(linked, "the in-process network did not reach its topology within 10 s (see the degrees above)");
            if (!linked)
            {
                return;
            }

            var expected = Enumerable.Range(0, count).Select(i => $"file-n{i}.txt").ToHashSet(StringComparer.Ordinal);
            Task<CounterSnapshot> ReadCounters() => Task.FromResult(CounterSnapshot.Sum(nodes.Select(n => CounterSnapshot.From(n.SearchCounters))));
            Task<SearchOutcome> SearchAt(int entry) => SearchSeries.TimeAsync(nodes[entry].SearchAsync(SearchSeries.Query, SearchSeries.Options(count)), expected);

            if (options.Runs("inproc"))
            {
                // Warm-up: JIT, SQLite statements, sockets; not counted.
                for (var i = 0; i < 5; i++)
                {
                    await SearchAt(random.Next(count));
                }

                Report.Note("5 warm-up searches (not counted); counters settled before and after each search, so the deltas are its own");
                var series = await SearchSeries.RunAsync(options.Searches, _ => SearchAt(random.Next(count)), ReadCounters, SeriesBudget);
                report.Summary(SeriesReport.Print("inproc", $"in-process {count} nodes", series, topology, report));
            }

            if (options.Runs("throughput"))
            {
                await ThroughputAsync(options, nodes, topology, random.Next(count), expected, ReadCounters, report);
            }

            PrintWarnings(nodes);
        }
        catch (Exception ex) when (ex is Protocol.P2PException or IOException or InvalidOperationException or TimeoutException or OperationCanceledException or FormatException)
        {
            report.Check(false, $"the in-process part stopped: {ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            var stopping = Task.WhenAll(nodes.Select(n => n.StopAsync(TimeSpan.Zero)));
            if (await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromSeconds(30))) != stopping)
            {
                Report.Note("some in-process nodes did not stop within 30 s");
            }
        }
    }

    /// <summary>
    /// K pure clients on the same entry server search back to back for a fixed time; the rate counts only searches
    /// that returned exactly the expected files.
    /// </summary>
    private static async Task ThroughputAsync(BenchOptions options, List<P2PNode> nodes, Topology topology, int entryIndex, HashSet<string> expected, Func<Task<CounterSnapshot>> readCounters, Report report)
    {
        var count = nodes.Count;
        var entry = nodes[entryIndex];
        var duration = TimeSpan.FromSeconds(options.ThroughputSeconds);
        var limit = new NodeOptions().QueriesPerPeerPerSecond;
        Report.Section($"2. throughput of one entry server: K pure clients searching back to back for {duration.TotalSeconds:0} s on the {count}-node network of part 1");
        Report.Note($"entry server n{entryIndex} ({entry.Endpoint}, {topology.Degree(entryIndex)} links); each client: NodeClient.ConnectAsync to it, then SearchAsync('file-*', TTL 7, MaxResults {count}) again and again");
        Report.Note($"every node, the clients and the bench share this process and its {Environment.ProcessorCount} cores: the figure is what the whole network serves, entered at one server");
        Report.Note($"QueriesPerPeerPerSecond is the default, {limit:0} a second per link (bursts of {2 * limit:0}); RequestsRateLimited is reported, not raised");
        Report.Note($"a client connection may start {SearchLimits.SearchesPerClientPerSecond} searches a second (SearchLimits.SearchesPerClientPerSecond); searches refused for it are counted as incorrect");

        // Warm-up of the client path (NodeClient, the server's client session); not counted.
        await using (var warm = await NodeClient.ConnectAsync(entry.Endpoint, TimeSpan.FromSeconds(5)))
        {
            for (var i = 0; i < 10; i++)
            {
                await SearchSeries.TimeAsync(warm.SearchAsync(SearchSeries.Query, SearchSeries.Options(count)), expected);
            }
        }

        Report.Note("10 warm-up searches through a client (not counted); K = 1 is a reference for K = 4 and 16");
        foreach (var clients in new[] { 1, 4, 16 })
        {
            var (before, _) = await Settle.WaitAsync(readCounters, TimeSpan.FromSeconds(2));
            var connections = new List<NodeClient>();
            var outcomes = new List<SearchOutcome>();
            string? problem = null;
            double seconds, cpu = double.NaN;
            try
            {
                for (var i = 0; i < clients; i++)
                {
                    connections.Add(await NodeClient.ConnectAsync(entry.Endpoint, TimeSpan.FromSeconds(5)));
                }

                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                var loops = connections.Select(async client =>
                {
                    var mine = new List<SearchOutcome>();

                    // Bounded: a search ends at its timeout at the latest, and no search starts after the duration.
                    while (watch.Elapsed < duration)
                    {
                        mine.Add(await SearchSeries.TimeAsync(client.SearchAsync(SearchSeries.Query, SearchSeries.Options(count)), expected));
                    }

                    return mine;
                }).ToList();
                foreach (var loop in loops)
                {
                    outcomes.AddRange(await loop);
                }

                seconds = watch.Elapsed.TotalSeconds;
                cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / seconds / Environment.ProcessorCount;
            }
            catch (Exception ex) when (ex is Protocol.P2PException or IOException)
            {
                problem = $"{ex.GetType().Name}: {ex.Message}";
                seconds = double.NaN;
            }
            finally
            {
                foreach (var client in connections)
                {
                    await client.DisposeAsync();
                }
            }

            var (after, settled) = await Settle.WaitAsync(readCounters, TimeSpan.FromSeconds(5));
            var delta = after - before;
            var correct = outcomes.Count(o => o.Correct);
            var incorrect = outcomes.Count - correct;
            var rate = correct / seconds;
            var prefix = $"throughput.K={clients}";
            Report.Figure($"{prefix} searches/s", $"{rate:0.0}", $"({correct} correct searches in {seconds:0.0} s; all {count} files each)");
            Report.Figure($"{prefix} incorrect", $"{incorrect} of {outcomes.Count}", $"(this process, all nodes and clients, used {cpu:P0} of the cores; far less means something else took them)");
            foreach (var bad in outcomes.Where(o => !o.Correct).Take(3))
            {
                Report.Note($"incorrect: {bad.Problem}");
            }

            if (problem is not null)
            {
                Report.Note($"the clients stopped: {problem}");
            }

            var refused = outcomes.Count(o => o.Refusal == ProtocolError.TooManySearches);
            if (refused > 0)
            {
                Report.Note($"{refused} searches were refused with TooManySearches: the per-client limit of {SearchLimits.SearchesPerClientPerSecond}/s limits this figure");
            }

            Report.Figure($"{prefix} all p50/p99 ms", Stats.P50P99(outcomes.Where(o => o.Correct).Select(o => o.AllMs)), $"(time to all {count} results under this load)");
            Report.Figure($"{prefix} messages/search", $"{(outcomes.Count == 0 ? double.NaN : (double)delta.Cascaded / outcomes.Count):0.0}", $"(sum of RequestsCascaded / searches; {topology.Links.Count} links)");
            var busiestLinkRate = seconds > 0 ? outcomes.Count / seconds : double.NaN;
            Report.Figure(
                $"{prefix} RequestsRateLimited",
                $"{delta.RateLimited}",
                delta.RateLimited > 0
                    ? $"(ROSE: the per-link limit of {limit:0}/s dropped requests and limits this figure)"
                    : $"(did not rise: a link carries about one request per search each way, ~{busiestLinkRate:0}/s here, far below {limit:0}/s)");
            if (delta.QueueFull + delta.SendQueueFull + delta.ResultsDropped + delta.DirectFailures > 0)
            {
                Report.Note($"dropped under load: RequestsQueueFull {delta.QueueFull}, SendQueueFull {delta.SendQueueFull}, ResultsDropped {delta.ResultsDropped}, DirectDeliveryFailures {delta.DirectFailures}");
            }

            if (!settled)
            {
                Report.Note("the counters did not settle within 5 s after the clients stopped");
            }

            report.Check(problem is null && incorrect == 0, $"throughput with {clients} clients: {incorrect} of {outcomes.Count} searches incorrect{(problem is null ? string.Empty : $", clients stopped: {problem}")}");
            report.Summary(
                $"throughput, {count}-node in-process network, entry n{entryIndex}, K={clients}: {rate:0.0} searches/s correct ({correct} in {seconds:0.0} s), incorrect {incorrect}, "
                + $"all-results p50/p99 {Stats.P50P99(outcomes.Where(o => o.Correct).Select(o => o.AllMs))} ms, this process used {cpu:P0} of the cores, refused TooManySearches {refused}, RequestsRateLimited {(delta.RateLimited > 0 ? $"ROSE by {delta.RateLimited} (limits the figure)" : "0")}");
        }
    }

    /// <summary>Waits until every node lists as many links as the topology gives it (bounded).</summary>
    private static async Task<bool> WaitLinkedAsync(List<P2PNode> nodes, Topology topology)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (nodes.Select((n, i) => n.PeerCount == topology.Degree(i)).All(ok => ok))
            {
                return true;
            }

            await Task.Delay(20);
        }

        var wrong = nodes.Select((n, i) => (n, i)).Where(x => x.n.PeerCount != topology.Degree(x.i)).Take(5);
        Report.Note("links missing: " + string.Join(", ", wrong.Select(x => $"n{x.i} has {x.n.PeerCount} of {topology.Degree(x.i)}")));
        return false;
    }

    private static void PrintWarnings(List<P2PNode> nodes)
    {
        var entries = nodes.SelectMany(n => n.Log.Recent().Where(e => e.Level >= NodeLogLevel.Warning).Select(e => $"{n.Name}: {e}")).ToList();
        if (entries.Count > 0)
        {
            Report.Note($"engine log: {entries.Count} warning(s) or error(s) across the nodes; the first:");
            foreach (var entry in entries.Take(10))
            {
                Report.Note($"  {entry}");
            }
        }
    }
}
