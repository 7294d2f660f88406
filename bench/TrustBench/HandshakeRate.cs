using System.Diagnostics;
using System.Net;

namespace P2PTransfer.Bench;

/// <summary>
/// Connections a node accepts per second: --parallel clients dial, handshake (TLS and Hello/Welcome when the node
/// speaks protocol 2, Hello/Welcome alone for protocol 1) and close with a Bye, back to back, for --seconds (after a
/// one-second warm-up). Each connection comes from a loopback address of its own (127.2.0.1 on), so that a node's
/// limits per address (a connection rate per address) judge nothing here: this measures the handshake's cost.
/// </summary>
internal static class HandshakeRate
{
    private static int _nextSource;

    public static async Task<int> RunAsync(Args args)
    {
        string nodeText = args.Get("node");
        var node = IPEndPoint.Parse(nodeText);
        int seconds = args.Int("seconds", 5);
        int parallel = args.Int("parallel", 16);
        await Transport.DetectAsync(node);
        await RoundAsync(node, TimeSpan.FromSeconds(1), parallel);
        var (done, failed, first, elapsed, p50, p99) = await RoundAsync(node, TimeSpan.FromSeconds(seconds), parallel);
        Console.WriteLine($"handshakes {done} failed {failed} seconds {elapsed:0.000} per_second {done / elapsed:0} p50_ms {p50:0.00} p99_ms {p99:0.00} protocol {Transport.Version}{(first.Length > 0 ? $" first_failure {Uri.EscapeDataString(first)}" : "")}");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>127.2.0.1, 127.2.0.2, ... 127.2.0.254, 127.2.1.1, ...: a new address for every connection.</summary>
    private static IPAddress NextSource()
    {
        int n = Interlocked.Increment(ref _nextSource) - 1;
        return new IPAddress([127, (byte)(2 + n / (256 * 254) % 200), (byte)(n / 254 % 256), (byte)(1 + n % 254)]);
    }

    private static async Task<(long Done, long Failed, string First, double Seconds, double P50, double P99)> RoundAsync(IPEndPoint node, TimeSpan duration, int parallel)
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
                    // Dial, handshake as a pure client, say goodbye and close.
                    var (link, _) = await RawLink.HandshakeAsync(node, NextSource(), 1, null, "", "", TimeSpan.FromSeconds(5));
                    await using (link)
                    {
                        await link.SendAsync(Wire.ByeFrame(0, "done"));
                    }

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
