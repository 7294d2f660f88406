using System.Diagnostics;
using P2PTransfer.Client;

namespace P2PTransfer.Bench;

/// <summary>
/// Connections a node accepts per second: --parallel clients dial, handshake and close, back to back, for --seconds
/// (after a one-second warm-up). Uses the engine's own client, so the handshake is whatever the built engine speaks:
/// bench/tls.sh runs this build against the current node and a build of an older revision against its node.
/// </summary>
internal static class HandshakeRate
{
    public static async Task<int> RunAsync(Args args)
    {
        string node = args.Get("node");
        int seconds = args.Int("seconds", 5);
        int parallel = args.Int("parallel", 16);
        await RoundAsync(node, TimeSpan.FromSeconds(1), parallel);
        var (done, failed, first, elapsed, p50, p99) = await RoundAsync(node, TimeSpan.FromSeconds(seconds), parallel);
        Console.WriteLine($"handshakes {done} failed {failed} seconds {elapsed:0.000} per_second {done / elapsed:0} p50_ms {p50:0.00} p99_ms {p99:0.00}{(first.Length > 0 ? $" first_failure {Uri.EscapeDataString(first)}" : "")}");
        return failed == 0 ? 0 : 1;
    }

    private static async Task<(long Done, long Failed, string First, double Seconds, double P50, double P99)> RoundAsync(string node, TimeSpan duration, int parallel)
    {
        long done = 0, failed = 0;
        string first = "";
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>();
            while (clock.Elapsed < duration)
            {
                var one = Stopwatch.StartNew();
                try
                {
                    // Dial, handshake, then close (with the client's goodbye), as a user's Test-P2PNode does.
                    var client = await NodeClient.ConnectAsync(node, TimeSpan.FromSeconds(5));
                    await client.DisposeAsync();
                    mine.Add(one.Elapsed.TotalMilliseconds);
                    Interlocked.Increment(ref done);
                }
                catch (Exception ex)
                {
                    if (Interlocked.Increment(ref failed) == 1)
                    {
                        first = ex.Message;
                    }
                }
            }

            lock (times)
            {
                times.AddRange(mine);
            }
        })));
        var sorted = times.Order().ToList();
        return (done, failed, first, clock.Elapsed.TotalSeconds, Stats.Percentile(sorted, 50), Stats.Percentile(sorted, 99));
    }
}
