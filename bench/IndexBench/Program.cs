using System.Globalization;
using P2PTransfer.Bench;

// Measures the share index: hashing throughput against openssl, the first index and a restart of 100,000 small
// files, and local wildcard queries over 1,000,000 rows. bench/index.sh prepares the folder and the 1 GiB file.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("usage: IndexBench --dir FOLDER [--big FILE] [--files N] [--rows N] [--per-shape N] [--only hash,index,query]");
    return 2;
}

var report = new Report();
Console.WriteLine($"IndexBench: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
Console.WriteLine($"work folder: {options.Directory}");

if (options.Runs("hash"))
{
    await HashBench.RunAsync(options, report);
}

if (options.Runs("index"))
{
    await FirstIndexBench.RunAsync(options, report);
}

if (options.Runs("query"))
{
    QueryBench.Run(options, report);
}

report.PrintSummary();
return report.Failed ? 1 : 0;

namespace P2PTransfer.Bench
{
    internal sealed class BenchOptions
    {
        public required string Directory { get; init; }

        public string? BigFile { get; init; }

        // Defaults are in Parse, the only place options are made.
        public required int Files { get; init; }

        public int Folders { get; init; } = 100;

        public required int Rows { get; init; }

        public required int PerShape { get; init; }

        public required HashSet<string> Only { get; init; }

        public bool Runs(string part) => Only.Contains(part);

        public static BenchOptions? Parse(string[] args)
        {
            string? dir = null, big = null;
            int files = 100_000, rows = 1_000_000, perShape = 40;
            HashSet<string> only = ["hash", "index", "query"];
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                var value = args[i + 1];
                switch (args[i])
                {
                    case "--dir": dir = value; break;
                    case "--big": big = value; break;
                    case "--files": files = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--rows": rows = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--per-shape": perShape = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--only": only = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                    default: return null;
                }
            }

            if (dir is null || args.Length % 2 != 0 || files < 1 || rows < 1 || perShape < 1)
            {
                return null;
            }

            return new BenchOptions { Directory = Path.GetFullPath(dir), BigFile = big, Files = files, Rows = rows, PerShape = perShape, Only = only };
        }
    }
}
