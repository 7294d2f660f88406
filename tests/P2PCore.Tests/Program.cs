using P2PTransfer.Common;
using P2PTransfer.Index;

namespace P2PTransfer.Tests;

/// <summary>
/// The test assembly doubles as a child process for tests that must kill an engine mid-work
/// (<c>dotnet P2PCore.Tests.dll index-child STATE SHARE</c>); run without arguments it does nothing.
/// </summary>
public static class Program
{
    /// <summary>How long a child waits for its parent at most, so that it ends by itself if the parent never kills it.</summary>
    private static readonly TimeSpan ChildLifetime = TimeSpan.FromMinutes(3);

    public static async Task<int> Main(string[] args)
    {
        if (args is ["index-child", var state, var share])
        {
            return await IndexChildAsync(state, share);
        }

        return 0;
    }

    /// <summary>
    /// Indexes SHARE with two hashing workers. The first file of several pieces is held by the worker reading it
    /// once half of it is read, its handle open; the other worker goes on hashing and storing. As soon as the index
    /// holds at least one hashed file the child prints <c>held PATH BYTES ready N</c> and waits to be killed: the
    /// held file cannot be hashed before that, so the kill lands mid-indexing whatever the speed of the machine.
    /// </summary>
    private static async Task<int> IndexChildAsync(string state, string share)
    {
        using var lifetime = new CancellationTokenSource(ChildLifetime);
        var held = new TaskCompletionSource<(string Path, long Read)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = 0;
        var options = new IndexOptions
        {
            Shares = [share],
            HashWorkers = 2,
            PieceRead = async (path, read, token) =>
            {
                if (read >= FileDigest.PieceSize * 2L && read < new FileInfo(path).Length && Interlocked.Exchange(ref holding, 1) == 0)
                {
                    held.TrySetResult((path, read));
                    await Task.Delay(Timeout.Infinite, token);
                }
            },
        };

        var index = ShareIndex.Open(state, options, new NodeLog());
        try
        {
            var (path, read) = await held.Task.WaitAsync(lifetime.Token);
            long ready;
            while ((ready = Ready(index.GetProgress())) == 0)
            {
                await Task.Delay(20, lifetime.Token);
            }

            Console.WriteLine($"held {path} {read} ready {ready}");

            // The parent kills this process now; if it does not, the child ends by itself.
            await Task.Delay(Timeout.Infinite, lifetime.Token);
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
        }

        await index.DisposeAsync();
        return 1;

        static long Ready(IndexProgress progress) => progress.FilesDone - progress.FilesUnreadable;
    }
}
