using System.Globalization;
using System.Threading.Channels;
using P2PTransfer.Common;
using P2PTransfer.Index;
using P2PTransfer.Node;

namespace P2PTransfer.Bench;

/// <summary>
/// 'SearchBench node': one node in a process of its own, for the multi-process part. It starts, waits until its
/// share is indexed, dials the given endpoints, prints 'endpoint HOST:PORT', then answers one line per command on
/// standard input: 'counters' (its SearchCounters), 'peers' (its live links), 'warnings' (engine log warnings and
/// errors), 'quit'. It stops at 'quit', when its input closes (the bench is gone), or when its lifetime is up.
/// </summary>
internal static class NodeProcess
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? address = null, name = null, share = null, state = null;
        var dial = Array.Empty<string>();
        var lifetime = TimeSpan.FromMinutes(10);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--address": address = value; break;
                case "--name": name = value; break;
                case "--share": share = value; break;
                case "--state": state = value; break;
                case "--dial": dial = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--lifetime": lifetime = TimeSpan.FromSeconds(int.Parse(value, CultureInfo.InvariantCulture)); break;
                default: return Fail($"unknown option {args[i]}");
            }
        }

        if (address is null || name is null || share is null || state is null || args.Length % 2 != 0)
        {
            return Fail("--address, --name, --share and --state are needed");
        }

        if (!address.StartsWith("127.", StringComparison.Ordinal) || dial.Any(d => !d.StartsWith("127.", StringComparison.Ordinal)))
        {
            return Fail("the bench runs on loopback only: every address must be 127.x.x.x");
        }

        using var stop = new CancellationTokenSource(lifetime);
        P2PNode? node = null;
        try
        {
            node = await P2PNode.StartAsync(new NodeOptions
            {
                Name = name,
                ListenAddress = address,
                Port = 0,
                StateDirectory = state,
                Index = new IndexOptions { Shares = [share] },
                DrainTimeout = TimeSpan.FromSeconds(1),
            });
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stop.Token))
            {
                idle.CancelAfter(TimeSpan.FromSeconds(60));
                await node.Index.WaitIdleAsync(idle.Token);
            }

            foreach (var endpoint in dial)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                await node.ConnectPeerAsync(endpoint, timeout.Token);
            }

            Console.WriteLine($"endpoint {node.Endpoint}");
            await ServeAsync(node, stop.Token);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine($"node {name}: lifetime of {lifetime.TotalSeconds:0} s is up");
            return 0;
        }
        catch (Exception ex)
        {
            return Fail($"{ex.GetType().Name}: {ex.Message}");
        }
        finally
        {
            if (node is not null)
            {
                try
                {
                    await node.StopAsync(TimeSpan.Zero).WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    Console.Error.WriteLine($"node {name} did not stop within 10 s");
                }
            }
        }
    }

    /// <summary>Answers commands until 'quit', the end of input, or the lifetime (bounded by the lifetime).</summary>
    private static async Task ServeAsync(P2PNode node, CancellationToken stop)
    {
        // Standard input is read by a thread of its own: a blocking read on a thread-pool thread would take one of the
        // few threads the node's own work runs on (2 cores: 2 threads before the pool grows) and slow the node down.
        var lines = Channel.CreateUnbounded<string?>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reader = new Thread(() =>
        {
            string? read;
            do
            {
                read = Console.In.ReadLine();
                lines.Writer.TryWrite(read);
            }
            while (read is not null);
        })
        { IsBackground = true, Name = "stdin commands" };
        reader.Start();
        while (true)
        {
            var line = await lines.Reader.ReadAsync(stop);
            switch (line?.Trim())
            {
                case null or "quit":
                    return;
                case "counters":
                    Console.WriteLine($"counters {CounterSnapshot.From(node.SearchCounters).Format()}");
                    break;
                case "peers":
                    Console.WriteLine($"peers {node.PeerCount}");
                    break;
                case "warnings":
                    var entries = node.Log.Recent().Where(e => e.Level >= NodeLogLevel.Warning).ToList();
                    Console.WriteLine($"warnings {entries.Count}{(entries.Count > 0 ? $" first: {OneLine(entries[0].ToString())}" : string.Empty)}");
                    break;
                default:
                    Console.WriteLine($"error unknown command '{OneLine(line)}'");
                    break;
            }
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    private static int Fail(string message)
    {
        Console.WriteLine($"error {OneLine(message)}");
        return 1;
    }
}
