using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Tests.Support;

/// <summary>Real nodes on loopback, each sharing one file of its own ('file-NAME.txt'), linked as a test says.</summary>
internal static class SearchNetwork
{
    /// <summary>Starts nodes n0..n(count-1) on 127.0.0.(i+1), each sharing one distinct file, indexed before this returns.</summary>
    public static async Task<P2PNode[]> StartAsync(TestNodes nodes, int count, Action<NodeOptions>? configure = null)
    {
        var started = new P2PNode[count];
        for (int i = 0; i < count; i++)
        {
            var folder = Path.Combine(nodes.Root, $"share-n{i}");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, $"file-n{i}.txt"), $"the file of node n{i}");
            started[i] = await nodes.StartAsync($"n{i}", host: i + 1, options =>
            {
                options.Index.Shares = [folder];
                configure?.Invoke(options);
            });
        }

        foreach (var node in started)
        {
            await TestShare.IdleAsync(node.Index);
        }

        return started;
    }

    /// <summary>Links each pair (the first dials the second) and waits until both ends list the link.</summary>
    public static async Task LinkAsync(P2PNode[] nodes, params (int From, int To)[] edges)
    {
        foreach (var (from, to) in edges)
        {
            await nodes[from].ConnectPeerAsync(nodes[to].Endpoint);
        }

        foreach (var (from, to) in edges)
        {
            Assert.True(await Eventually.TrueAsync(
                () => nodes[from].GetPeers().Any(p => p.NodeId == nodes[to].Id) && nodes[to].GetPeers().Any(p => p.NodeId == nodes[from].Id),
                TimeSpan.FromSeconds(5)));
        }
    }

    public static (int, int)[] Line(int count) => [.. Enumerable.Range(0, count - 1).Select(i => (i, i + 1))];

    public static (int, int)[] Ring(int count) => [.. Enumerable.Range(0, count).Select(i => (i, (i + 1) % count))];

    public static (int, int)[] Mesh(int count) =>
        [.. Enumerable.Range(0, count).SelectMany(i => Enumerable.Range(i + 1, count - i - 1).Select(j => (i, j)))];

    /// <summary>Runs a search to its end and returns every result.</summary>
    public static async Task<List<P2PSearchResult>> SearchAsync(P2PNode entry, FileQuery? query = null, int ttl = SearchLimits.MaxTtl, double timeoutSec = 3, int maxResults = int.MaxValue)
    {
        var results = new List<P2PSearchResult>();
        var options = new SearchOptions { Ttl = ttl, Timeout = TimeSpan.FromSeconds(timeoutSec), MaxResults = maxResults };
        await foreach (var result in entry.SearchAsync(query ?? new FileQuery { Names = ["file-*"] }, options))
        {
            results.Add(result);
        }

        return results;
    }
}
