using System.Globalization;

// Shared by the benchmarks under bench/ (each project compiles this file in).
namespace P2PTransfer.Bench
{
    /// <summary>Figures as they are measured, and the summary block at the end.</summary>
    internal sealed class Report
    {
        private readonly List<string> _summary = [];

        public bool Failed { get; private set; }

        public static void Section(string title)
        {
            Console.WriteLine();
            Console.WriteLine($"== {title} ==");
        }

        public static void Note(string text) => Console.WriteLine($"   {text}");

        public static void Figure(string name, string value, string? comment = null) =>
            Console.WriteLine(comment is null ? $"{name,-30} {value}" : $"{name,-30} {value,-12} {comment}");

        public static string Target(bool met) => met ? "met" : "MISSED";

        public void Summary(string line) => _summary.Add(line);

        /// <summary>A correctness check (not a performance target): a failure makes the run exit with 1.</summary>
        public void Check(bool ok, string what)
        {
            if (!ok)
            {
                Failed = true;
                Console.WriteLine($"CHECK FAILED: {what}");
                _summary.Add($"CHECK FAILED: {what}");
            }
        }

        public void PrintSummary()
        {
            Console.WriteLine();
            Console.WriteLine("== summary ==");
            foreach (var line in _summary)
            {
                Console.WriteLine($"  {line}");
            }
        }
    }

    internal static class Stats
    {
        /// <summary>Nearest-rank percentile of sorted values.</summary>
        public static double Percentile(IReadOnlyList<double> sorted, double p) =>
            sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

        /// <summary>'p50 / p99' of the values, in ms.</summary>
        public static string P50P99(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return $"{Ms(Percentile(sorted, 50))} / {Ms(Percentile(sorted, 99))}";
        }

        /// <summary>1000000 as 1M, 100000 as 100k.</summary>
        public static string Count(long n) => n % 1_000_000 == 0 ? $"{n / 1_000_000}M" : n % 1000 == 0 ? $"{n / 1000}k" : n.ToString(CultureInfo.InvariantCulture);

        /// <summary>Bytes in GiB or MiB.</summary>
        public static string Size(long bytes) => bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB" : $"{bytes / (1 << 20)} MiB";

        public static string Ms(double ms) => double.IsNaN(ms) ? "n/a" : ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);
    }
}
