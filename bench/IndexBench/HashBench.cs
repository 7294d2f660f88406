using System.Diagnostics;
using P2PTransfer.Index;

namespace P2PTransfer.Bench;

/// <summary>
/// FileHasher (whole-file SHA-256 and 1 MiB piece hashes in one read) against `openssl dgst -sha256` on the same
/// file, page cache warm, best of 3 runs of each, interleaved.
/// </summary>
internal static class HashBench
{
    private const int Runs = 3;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var path = options.BigFile ?? throw new ArgumentException("--big FILE is needed for the hashing part");
        var size = new FileInfo(path).Length;
        Report.Section($"1. hashing a {Stats.Size(size)} file of random bytes (page cache warm; best of {Runs}, interleaved)");

        // Warm the cache and the JIT: one engine pass first, not counted.
        Report.Note("warm-up: one engine pass over the file (not counted)");
        using (var warm = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            await FileHasher.HashAsync(path, size, null, warm.Token);
        }

        double bestOpenssl = double.MaxValue, bestEngine = double.MaxValue;
        string? opensslHash = null, engineHash = null;
        byte[] pieceHashes = [];
        for (var run = 1; run <= Runs; run++)
        {
            var (opensslSeconds, opensslOut) = TimeOpenssl(path);
            opensslHash = opensslOut;

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            var watch = Stopwatch.StartNew();
            var digest = await FileHasher.HashAsync(path, size, null, timeout.Token);
            var engineSeconds = watch.Elapsed.TotalSeconds;
            engineHash = digest.Hash;
            pieceHashes = digest.PieceHashes;

            Report.Note($"run {run}: openssl {opensslSeconds:0.000} s ({Mb(size, opensslSeconds):0} MB/s), engine {engineSeconds:0.000} s ({Mb(size, engineSeconds):0} MB/s)");
            bestOpenssl = Math.Min(bestOpenssl, opensslSeconds);
            bestEngine = Math.Min(bestEngine, engineSeconds);
        }

        // Untimed: the first, a middle and the last piece hashed on their own match the engine's piece list.
        using (var handle = File.OpenHandle(path))
        {
            var pieces = FileDigest.PieceCount(size);
            foreach (var piece in new[] { 0, pieces / 2, pieces - 1 }.Distinct())
            {
                var buffer = new byte[(int)Math.Min(FileDigest.PieceSize, size - ((long)piece * FileDigest.PieceSize))];
                RandomAccess.Read(handle, buffer, (long)piece * FileDigest.PieceSize);
                report.Check(
                    System.Security.Cryptography.SHA256.HashData(buffer).AsSpan().SequenceEqual(pieceHashes.AsSpan(piece * FileDigest.HashSize, FileDigest.HashSize)),
                    $"engine piece hash {piece} differs from SHA-256 of that piece");
            }
        }

        var opensslRate = Mb(size, bestOpenssl);
        var engineRate = Mb(size, bestEngine);
        var ratio = engineRate / opensslRate;
        var same = string.Equals(opensslHash, engineHash, StringComparison.OrdinalIgnoreCase);
        Report.Figure("hash.openssl MB/s", $"{opensslRate:0}", "(best of 3; MB = 10^6 bytes)");
        Report.Figure("hash.engine MB/s", $"{engineRate:0}", "(best of 3; SHA-256 + piece hashes, one read)");
        Report.Figure("hash.ratio engine/openssl", $"{ratio:0.00}", $"(target >= 0.80: {Report.Target(ratio >= 0.80)})");
        Report.Figure("hash.same digest", same ? "yes" : "NO", $"({engineHash?.ToLowerInvariant()})");
        report.Check(same, $"engine hash {engineHash} differs from openssl {opensslHash}");
        report.Summary($"hash {Stats.Size(size)}: engine {engineRate:0} MB/s, openssl {opensslRate:0} MB/s, ratio {ratio:0.00} (target >= 0.80: {Report.Target(ratio >= 0.80)}), same digest: {(same ? "yes" : "NO")}");
    }

    private static double Mb(long bytes, double seconds) => bytes / 1e6 / seconds;

    private static (double Seconds, string Hash) TimeOpenssl(string path)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("dgst");
        start.ArgumentList.Add("-sha256");
        start.ArgumentList.Add(path);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start openssl");
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill();
            throw new TimeoutException("openssl took more than 5 minutes");
        }

        var seconds = watch.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl failed with exit code {process.ExitCode}");
        }

        // "SHA2-256(path)= hex" (OpenSSL 3) or "SHA256(path)= hex".
        var text = output.Result.Trim();
        return (seconds, text[(text.LastIndexOf("= ", StringComparison.Ordinal) + 2)..]);
    }
}
