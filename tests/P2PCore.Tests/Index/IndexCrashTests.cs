using System.Diagnostics;
using Microsoft.Data.Sqlite;
using P2PTransfer.Index;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Index;

/// <summary>A process killed while indexing leaves an index that opens, keeps what was done, and is right after the next reconcile.</summary>
public sealed class IndexCrashTests
{
    [Fact]
    public async Task Killing_the_process_mid_indexing_leaves_an_index_that_reopens_and_reconciles_correctly()
    {
        await using var share = new TestShare();
        const int small = 4000, large = 40;
        for (var i = 0; i < small; i++)
        {
            share.Write($"small/{i % 20:D2}/f{i:D4}.txt", $"small file {i}");
        }

        var random = new Random(7);
        var content = new byte[4 * FileDigest.PieceSize];
        for (var i = 0; i < large; i++)
        {
            random.NextBytes(content);
            share.Write($"large/l{i:D2}.bin", content);
        }

        // The child holds one worker half way through a large file, its handle open, while the other goes on
        // hashing and storing, and reports once the index holds a hashed file: killing it then lands mid-indexing
        // by construction, with a read under way.
        using var child = StartChild(share);
        var database = Path.Combine(share.State, "index.db");
        string report;
        try
        {
            report = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2))
                ?? throw new InvalidOperationException($"the child ended without reporting: {await child.StandardError.ReadToEndAsync()}");
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        var (heldPath, heldRead, readyAtReport) = ParseReport(report);
        var held = Path.GetRelativePath(share.Folder, heldPath).Replace(Path.DirectorySeparatorChar, '/');
        Assert.StartsWith("large/", held);
        Assert.InRange(heldRead, FileDigest.PieceSize, content.Length - 1);

        var readyAtKill = CountReady(database);
        Assert.InRange(readyAtKill, 1, small + large - 1);
        Assert.True(readyAtKill >= readyAtReport, $"{readyAtReport} files were hashed when the child reported, {readyAtKill} after the kill");
        Assert.NotEqual((long)SharedFileState.Ready, StateOf(database, held));

        // The disk changes before the node comes back: one file goes, one changes.
        var gone = held == "large/l00.bin" ? "l01.bin" : "l00.bin";
        File.Delete(Path.Combine(share.Folder, "large", gone));
        share.Write("small/00/f0000.txt", "changed after the crash");

        var index = await share.OpenAsync();

        var files = index.GetFiles().ToList();
        Assert.Equal(small + large - 1, files.Count);
        Assert.Contains(files, f => f.FullName == heldPath);
        Assert.All(files, f =>
        {
            Assert.Equal(SharedFileState.Ready, f.State);
            Assert.Equal(TestShare.HashOf(f.FullName), f.Hash);
        });

        // Work committed before the kill was kept: only the rest (and the changed file) was read again.
        Assert.True(index.Counters.FilesHashed <= small + large - readyAtKill + 1, $"hashed {index.Counters.FilesHashed} after the restart, {readyAtKill} were ready before");
        // Every file ready at the kill is found unchanged, except the two touched after it if they were among them.
        Assert.True(index.Counters.FilesUnchanged >= readyAtKill - 2, $"{index.Counters.FilesUnchanged} unchanged after the restart, {readyAtKill} were ready before");
    }

    private static Process StartChild(TestShare share)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(IndexCrashTests).Assembly.Location);
        start.ArgumentList.Add("index-child");
        start.ArgumentList.Add(share.State);
        start.ArgumentList.Add(share.Folder);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the child process");
    }

    /// <summary>Reads <c>held PATH BYTES ready N</c>, the child's report.</summary>
    private static (string Path, long Read, long Ready) ParseReport(string report)
    {
        var parts = report.Split(' ');
        Assert.True(parts is [.., _, _, "ready", _] && parts[0] == "held", $"unexpected report from the child: {report}");
        return (string.Join(' ', parts[1..^3]), long.Parse(parts[^3]), long.Parse(parts[^1]));
    }

    private static long CountReady(string database) =>
        Convert.ToInt64(Query(database, "SELECT count(*) FROM files WHERE state = 1", null));

    /// <summary>The state of a file's row (1 is hashed), read from the index the killed process left.</summary>
    private static long StateOf(string database, string storedPath) =>
        Convert.ToInt64(Query(database, "SELECT state FROM files WHERE path = $path", storedPath) ?? throw new InvalidOperationException($"no row for '{storedPath}'"));

    private static object? Query(string database, string sql, string? path)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (path is not null)
        {
            command.Parameters.AddWithValue("$path", path);
        }

        return command.ExecuteScalar();
    }
}
