using System.Diagnostics;
using P2PTransfer.Common;
using P2PTransfer.Index;

namespace P2PTransfer.Bench;

/// <summary>
/// The first index of many small files (every one read and hashed), then a restart over the same state folder,
/// where every file is found unchanged (same size and last-write time) and nothing is read again.
/// </summary>
internal static class FirstIndexBench
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(30);

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var share = Path.Combine(options.Directory, "share");
        var state = Path.Combine(options.Directory, "state");
        Report.Section($"2. first index and restart: {options.Files:N0} files of 1-8 KiB random bytes in {options.Folders} folders");
        var bytes = CreateFiles(share, options.Files, options.Folders);
        Report.Note("the page cache is warm (the files were just written; dropping it needs root), so this is hashing and bookkeeping, not disk reads");

        if (Directory.Exists(state))
        {
            Directory.Delete(state, recursive: true);
        }

        Directory.CreateDirectory(state);
        var indexOptions = new IndexOptions { Shares = [share] };
        Report.Note($"IndexOptions: Shares = [share folder], HashWorkers = {indexOptions.HashWorkers} (default), fresh state folder");

        // First index: every file is new.
        var log = new NodeLog();
        var watch = Stopwatch.StartNew();
        var index = ShareIndex.Open(state, indexOptions, log);
        await WaitIdleAsync(index);
        var firstSeconds = watch.Elapsed.TotalSeconds;
        var first = index.Counters;
        var progress = index.GetProgress();
        Report.Figure("index.first seconds", $"{firstSeconds:0.00}", "(ShareIndex.Open to WaitIdleAsync returning)");
        Report.Figure("index.first files/s", $"{options.Files / firstSeconds:0}", $"({bytes / 1e6 / firstSeconds:0.0} MB/s of content)");
        Report.Figure("index.first FilesHashed", $"{first.FilesHashed}", $"(BytesHashed {first.BytesHashed:N0}, Reconciles {first.Reconciles}, FilesUnreadable {first.FilesUnreadable})");
        report.Check(first.FilesHashed == options.Files, $"first index hashed {first.FilesHashed} files, expected {options.Files}");
        report.Check(progress.FilesTotal == options.Files && progress.IsComplete, $"first index progress is {progress}, expected {options.Files} files all hashed");
        PrintLog(log);
        await index.DisposeAsync();

        // Restart on the same state folder: nothing changed on disk.
        log = new NodeLog();
        watch.Restart();
        index = ShareIndex.Open(state, indexOptions, log);
        await WaitIdleAsync(index);
        var restartSeconds = watch.Elapsed.TotalSeconds;
        var again = index.Counters;
        Report.Figure("index.restart seconds", $"{restartSeconds:0.00}", $"(Open to WaitIdleAsync returning; target < 2 s: {Report.Target(restartSeconds < 2)})");
        Report.Figure("index.restart FilesHashed", $"{again.FilesHashed}", "(must be 0)");
        Report.Figure("index.restart FilesUnchanged", $"{again.FilesUnchanged}", $"(expected {options.Files})");
        report.Check(again.FilesHashed == 0, $"restart re-hashed {again.FilesHashed} files");
        report.Check(again.FilesUnchanged == options.Files, $"restart found {again.FilesUnchanged} files unchanged, expected {options.Files}");
        PrintLog(log);
        await index.DisposeAsync();

        report.Summary($"first index {Stats.Count(options.Files)} files: {options.Files / firstSeconds:0} files/s ({firstSeconds:0.00} s), hashed: {first.FilesHashed}");
        report.Summary($"restart {Stats.Count(options.Files)} unchanged: {restartSeconds:0.00} s (target < 2 s: {Report.Target(restartSeconds < 2)}), re-hashed: {again.FilesHashed}, unchanged: {again.FilesUnchanged}");
    }

    private static async Task WaitIdleAsync(ShareIndex index)
    {
        using var timeout = new CancellationTokenSource(IdleTimeout);
        await index.WaitIdleAsync(timeout.Token);
    }

    private static void PrintLog(NodeLog log)
    {
        foreach (var entry in log.Recent().Where(e => e.Level >= NodeLogLevel.Warning).Take(10))
        {
            Report.Note($"engine log: {entry}");
        }
    }

    /// <summary>Writes the files (f000/file-000001.bin ...) with random content; returns the bytes written.</summary>
    private static long CreateFiles(string share, int count, int folders)
    {
        if (Directory.Exists(share))
        {
            Directory.Delete(share, recursive: true);
        }

        var random = new Random(1234);
        var buffer = new byte[8 * 1024];
        long bytes = 0;
        var watch = Stopwatch.StartNew();
        for (var folder = 0; folder < folders; folder++)
        {
            Directory.CreateDirectory(Path.Combine(share, $"f{folder:000}"));
        }

        for (var i = 0; i < count; i++)
        {
            var length = random.Next(1024, 8 * 1024 + 1);
            random.NextBytes(buffer.AsSpan(0, length));
            using var file = File.Create(Path.Combine(share, $"f{i % folders:000}", $"file-{i:000000}.bin"));
            file.Write(buffer, 0, length);
            bytes += length;
        }

        Report.Note($"created {count:N0} files ({bytes / 1e6:0.0} MB) in {watch.Elapsed.TotalSeconds:0.0} s (not counted)");
        return bytes;
    }
}
