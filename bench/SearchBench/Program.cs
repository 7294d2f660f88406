using System.Globalization;
using P2PTransfer.Bench;

// Measures network search: latency to the first and to the last result and the messages each search costs on a
// 50-node network in one process, the searches per second one entry server sustains on that network, and the same
// latency and message figures on 20 nodes in separate processes. bench/search.sh builds it and prepares the folder.
// 'SearchBench node ...' is one node of the multi-process part, started by the bench itself.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length > 0 && args[0] == "node")
{
    return await NodeProcess.RunAsync(args[1..]);
}

var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: SearchBench --dir FOLDER [--seed N] [--nodes N] [--process-nodes N] [--searches N] [--seconds S] [--only inproc,throughput,procs]");
    Console.Error.WriteLine("       SearchBench node --address IP --name NAME --share DIR --state DIR [--dial EP1,EP2] [--lifetime S]");
    return 2;
}

ChildProcesses.KillOnExit(Path.Combine(options.Directory, "children.pids"));
var report = new Report();
Console.WriteLine($"SearchBench: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
Console.WriteLine($"work folder: {options.Directory}");
Console.WriteLine($"seed: {options.Seed} (bench/search.sh --seed N for another topology)");

if (options.Runs("inproc") || options.Runs("throughput"))
{
    await InProcessBench.RunAsync(options, report);
}

if (options.Runs("procs"))
{
    await ProcessBench.RunAsync(options, report);
}

report.PrintSummary();
return report.Failed ? 1 : 0;

namespace P2PTransfer.Bench
{
    internal sealed class BenchOptions
    {
        public required string Directory { get; init; }

        // Defaults are in Parse, the only place options are made.
        public required int Seed { get; init; }

        public required int Nodes { get; init; }

        public required int ProcessNodes { get; init; }

        public required int Searches { get; init; }

        public required int ThroughputSeconds { get; init; }

        public required HashSet<string> Only { get; init; }

        public bool Runs(string part) => Only.Contains(part);

        public static BenchOptions? Parse(string[] args)
        {
            string? dir = null;
            int seed = 20_250_601, nodes = 50, processNodes = 20, searches = 100, seconds = 10;
            HashSet<string> only = ["inproc", "throughput", "procs"];
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                var value = args[i + 1];
                switch (args[i])
                {
                    case "--dir": dir = value; break;
                    case "--seed": seed = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--nodes": nodes = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--process-nodes": processNodes = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--searches": searches = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--seconds": seconds = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--only": only = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                    default: return null;
                }
            }

            // Nodes listen on 127.0.0.1-N and 127.0.0.101-(100+N): the two ranges may not overlap or leave loopback's last byte.
            if (dir is null || args.Length % 2 != 0 || nodes is < 5 or > 100 || processNodes is < 5 or > 150 || searches < 1 || seconds is < 1 or > 60)
            {
                return null;
            }

            return new BenchOptions
            {
                Directory = Path.GetFullPath(dir),
                Seed = seed,
                Nodes = nodes,
                ProcessNodes = processNodes,
                Searches = searches,
                ThroughputSeconds = seconds,
                Only = only,
            };
        }
    }
}
