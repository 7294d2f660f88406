using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using P2PTransfer.Client;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Bench;

/// <summary>
/// An ordinary user of a node while it is attacked, in a process of its own (so the attackers' work does not stall
/// its clock): it pings the node on one lasting connection every 50 ms, and searches on a new connection of its own
/// at most one every 1.2 s, checking each search's results against the files the node shares. Driven over stdin/stdout by the
/// attack driver: prints 'ready', measures from 'go' to 'stop' (or --max-seconds), prints one 'result' line.
/// It connects from the default loopback source (127.0.0.1); the attackers bind other 127.0.0.x addresses.
/// </summary>
internal static class Bystander
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    public static async Task<int> RunAsync(Args args)
    {
        string node = args.Get("node");
        string share = args.Get("share");
        string prefix = args.Get("prefix", "doc-00");
        int maxSeconds = args.Int("max-seconds", 120);
        var expected = ExpectedFiles(share, prefix);

        await using var lasting = await ConnectWithRetryAsync(node);
        Guid nodeId = lasting.RemoteId;
        await lasting.PingAsync(PingTimeout);
        Console.WriteLine($"ready {expected.Count}");
        if (Console.ReadLine() != "go")
        {
            return 2;
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds));
        var stopLine = Task.Run(() =>
        {
            Console.ReadLine();
            stop.Cancel();
        });

        var pings = new List<double>();
        int pingFailures = 0;
        var pinging = Task.Run(async () =>
        {
            NodeClient? client = lasting;
            var next = Stopwatch.StartNew();
            var reconnected = Stopwatch.StartNew();
            long tick = 0;
            while (!stop.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    if (client is null && reconnected.Elapsed < TimeSpan.FromSeconds(2))
                    {
                        // The lasting connection is gone: connect again, at most every 2 s (a node's rate per address).
                        throw new IOException("no connection");
                    }

                    if (client is null)
                    {
                        reconnected.Restart();
                        client = await NodeClient.ConnectAsync(node, ConnectTimeout, stop.Token);
                    }

                    await client.PingAsync(PingTimeout, stop.Token);
                    lock (pings)
                    {
                        pings.Add(clock.Elapsed.TotalMilliseconds);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception)
                {
                    // A ping that failed counts as the worst round trip the bystander waits for.
                    lock (pings)
                    {
                        pings.Add(Math.Max(PingTimeout.TotalMilliseconds, clock.Elapsed.TotalMilliseconds));
                        pingFailures++;
                    }

                    if (client is not null && client != lasting && client.Closed.IsCompleted)
                    {
                        await client.DisposeAsync();
                        client = null;
                    }
                    else if (client == lasting && lasting.Closed.IsCompleted)
                    {
                        client = null;
                    }
                }

                tick++;
                var wait = TimeSpan.FromMilliseconds(50 * tick) - next.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }

            if (client is not null && client != lasting)
            {
                await client.DisposeAsync();
            }
        });

        int searches = 0, correct = 0, connectFailures = 0, foreign = 0;
        var connects = new List<double>();
        string firstProblem = "";
        var paced = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            // One new connection every 1.2 s at most: 50 a minute, within what a node lets one address open
            // (docs/protocol.md section 8, limits per source), so the bystander is never refused for its own doing.
            var due = TimeSpan.FromSeconds(1.2 * searches) - paced.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(due, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            searches++;
            var clock = Stopwatch.StartNew();
            NodeClient? client = null;
            try
            {
                client = await NodeClient.ConnectAsync(node, ConnectTimeout, stop.Token);
                connects.Add(clock.Elapsed.TotalMilliseconds);
                var seen = new Dictionary<string, string>(StringComparer.Ordinal);
                int own = 0;
                var query = new FileQuery { Names = [prefix + "*"] };
                var options = new SearchOptions { Ttl = 1, Timeout = TimeSpan.FromSeconds(1), MaxResults = 100_000 };
                await foreach (var r in client.SearchAsync(query, options, stop.Token))
                {
                    if (r.NodeId == nodeId)
                    {
                        own++;
                        seen[r.Name] = r.Hash;
                    }
                    else
                    {
                        foreign++;
                    }
                }

                bool ok = own == expected.Count && expected.All(e => seen.TryGetValue(e.Key, out var h) && h == e.Value);
                if (ok)
                {
                    correct++;
                }
                else if (firstProblem.Length == 0)
                {
                    firstProblem = $"{own} of {expected.Count} files from the node";
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                searches--;
                break;
            }
            catch (Exception ex)
            {
                connectFailures += client is null ? 1 : 0;
                if (firstProblem.Length == 0)
                {
                    firstProblem = ex.Message.ReplaceLineEndings(" ");
                }

            }
            finally
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }

        await pinging;
        await stopLine.WaitAsync(TimeSpan.FromSeconds(1)).ContinueWith(_ => { });
        List<double> sorted;
        lock (pings)
        {
            sorted = [.. pings.Order()];
        }

        var connectSorted = connects.Order().ToList();
        var line = string.Create(CultureInfo.InvariantCulture,
            $"result pings={sorted.Count} ping_failures={pingFailures} p50={Stats.Percentile(sorted, 50):0.0} p99={Stats.Percentile(sorted, 99):0.0} max={(sorted.Count > 0 ? sorted[^1] : double.NaN):0.0} searches={searches} correct={correct} connect_failures={connectFailures} connect_p99={Stats.Percentile(connectSorted, 99):0.0} foreign={foreign} problem={Uri.EscapeDataString(firstProblem)}");
        Console.WriteLine(line);
        return 0;
    }

    /// <summary>The files a search for PREFIX* must find at the node: name to hash, from the shared folder itself.</summary>
    public static Dictionary<string, string> ExpectedFiles(string share, string prefix) =>
        Directory.EnumerateFiles(share)
            .Where(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);

    private static async Task<NodeClient> ConnectWithRetryAsync(string node)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await NodeClient.ConnectAsync(node, ConnectTimeout);
            }
            catch (Exception) when (attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }
}
