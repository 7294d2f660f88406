using System.Globalization;
using P2PTransfer.Bench;

// Benchmarks of a node under hostile input: the fuzzer (bench/fuzz.sh), the attacks of a probe with a bystander
// measuring what a user sees (bench/attacks.sh), and the handshakes a node accepts per second (bench/tls.sh).
// The node under test runs in a process of its own, started by the script with the module (Start-P2PNode).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

const string Usage = """
usage: TrustBench make-share --dir DIR [--files N]
       TrustBench fuzz --node EP --node-pid PID --share DIR [--frames N] [--connections N] [--seed N]
       TrustBench attacks --node EP --node-pid PID --share DIR [--seconds S] [--only a,b] [--rss-growth-max-mib N]
       TrustBench bystander --node EP --share DIR [--prefix P] [--max-seconds S]
       TrustBench handshake --node EP [--seconds S] [--parallel N]
""";

if (args.Length == 0)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

try
{
    var rest = new Args(args[1..]);
    return args[0] switch
    {
        "make-share" => MakeShare.Run(rest),
        "fuzz" => await Fuzzer.RunAsync(rest),
        "attacks" => await Attacks.RunAsync(rest),
        "bystander" => await Bystander.RunAsync(rest),
        "handshake" => await HandshakeRate.RunAsync(rest),
        _ => throw new ArgumentException($"unknown command '{args[0]}'"),
    };
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"TrustBench: {ex.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}

namespace P2PTransfer.Bench
{
    /// <summary>'--name value' pairs.</summary>
    internal sealed class Args
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public Args(string[] args)
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    throw new ArgumentException($"expected '--name value' at '{args[i]}'");
                }

                _values[args[i][2..]] = args[++i];
            }
        }

        public string Get(string name, string? fallback = null) =>
            _values.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"--{name} is needed");

        public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        public bool Has(string name) => _values.ContainsKey(name);
    }

    /// <summary>The shared folder of the node under test: small files with known names, the same in every run.</summary>
    internal static class MakeShare
    {
        public static string FileName(int i) => $"doc-{i:0000}-minutes-of-the-quarterly-planning-meeting.txt";

        public static int Run(Args args)
        {
            string dir = args.Get("dir");
            int files = args.Int("files", 5000);
            Directory.CreateDirectory(dir);
            for (int i = 0; i < files; i++)
            {
                var path = Path.Combine(dir, FileName(i));
                if (!File.Exists(path))
                {
                    File.WriteAllText(path, $"file {i} of the trust benchmarks\n");
                }
            }

            Console.WriteLine($"{files} files in {dir}");
            return 0;
        }
    }

    /// <summary>The node under test's memory, from /proc.</summary>
    internal static class NodeProcess
    {
        public static bool IsAlive(int pid) => File.Exists($"/proc/{pid}/status");

        /// <summary>(current RSS, peak RSS) in MiB, or NaN when the process is gone.</summary>
        public static (double Rss, double Peak) Memory(int pid)
        {
            try
            {
                double rss = double.NaN, peak = double.NaN;
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        rss = Kib(line) / 1024;
                    }
                    else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    {
                        peak = Kib(line) / 1024;
                    }
                }

                return (rss, peak);
            }
            catch (IOException)
            {
                return (double.NaN, double.NaN);
            }

            static double Kib(string line) => double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
    }
}
