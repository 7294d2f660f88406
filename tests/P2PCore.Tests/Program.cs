using P2PTransfer.Index;
using P2PTransfer.Node;

namespace P2PTransfer.Tests;

/// <summary>
/// The test assembly doubles as a child process for tests that must kill an engine mid-work
/// (<c>dotnet P2PCore.Tests.dll index-child STATE SHARE</c>); run without arguments it does nothing.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["index-child", var state, var share])
        {
            var index = ShareIndex.Open(state, new IndexOptions { Shares = [share], HashWorkers = 1 }, new NodeLog());
            Console.WriteLine("indexing");

            // Bounded: the parent kills this process long before; if it does not, the child ends by itself.
            await Task.Delay(TimeSpan.FromSeconds(60));
            await index.DisposeAsync();
            return 0;
        }

        return 0;
    }
}
