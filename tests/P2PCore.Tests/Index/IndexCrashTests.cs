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

        using var child = StartChild(share);
        var database = Path.Combine(share.State, "index.db");
        try
        {
            // Kill once some files are hashed and others are not: the middle of indexing.
            Assert.True(await Eventually.TrueAsync(() => CountReady(database) > 0, TimeSpan.FromSeconds(30)), "the child never started hashing");
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        var readyAtKill = CountReady(database);
        Assert.InRange(readyAtKill, 1, small + large - 1);

        // The disk changes before the node comes back: one file goes, one changes.
        File.Delete(Path.Combine(share.Folder, "large", "l00.bin"));
        share.Write("small/00/f0000.txt", "changed after the crash");

        var index = await share.OpenAsync();

        var files = index.GetFiles().ToList();
        Assert.Equal(small + large - 1, files.Count);
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

    private static long CountReady(string database)
    {
        if (!File.Exists(database))
        {
            return 0;
        }

        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM files WHERE state = 1";
            return Convert.ToInt64(command.ExecuteScalar());
        }
        catch (SqliteException)
        {
            // Not created yet, or busy: ask again.
            return 0;
        }
    }
}
