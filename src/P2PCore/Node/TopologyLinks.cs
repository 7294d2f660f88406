namespace P2PTransfer.Node;

/// <summary>
/// The links of a test network of a given shape, as pairs of node indexes (From dials To). No pair appears twice,
/// either way round, and no node is linked to itself.
/// </summary>
internal static class TopologyLinks
{
    /// <summary>Links a random network aims at per node, on average (as many as there are pairs, in small networks).</summary>
    public const int RandomDegree = 3;

    public static IReadOnlyList<(int From, int To)> Create(TestTopology topology, int count, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return topology switch
        {
            TestTopology.Line => Line(count),
            TestTopology.Ring => count < 3 ? Line(count) : [.. Line(count), (count - 1, 0)],
            TestTopology.Mesh => [.. Enumerable.Range(0, count).SelectMany(i => Enumerable.Range(i + 1, count - i - 1).Select(j => (i, j)))],
            TestTopology.Random => RandomLinks(count, random),
            _ => throw new ArgumentOutOfRangeException(nameof(topology), $"unknown topology {topology}"),
        };
    }

    private static (int From, int To)[] Line(int count) => [.. Enumerable.Range(0, count - 1).Select(i => (i, i + 1))];

    /// <summary>
    /// A random spanning tree (the nodes in random order, each linked to a random node before it), so every node can
    /// reach every other, then links between random pairs not yet linked until the average degree is
    /// <see cref="RandomDegree"/> (or every pair is linked).
    /// </summary>
    private static List<(int From, int To)> RandomLinks(int count, Random random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        random.Shuffle(order);
        var links = new List<(int From, int To)>();
        var linked = new HashSet<(int, int)>();
        void Add(int a, int b)
        {
            links.Add((a, b));
            linked.Add((Math.Min(a, b), Math.Max(a, b)));
        }

        for (var i = 1; i < count; i++)
        {
            Add(order[i], order[random.Next(i)]);
        }

        var pairs = count * (count - 1) / 2;
        var wanted = Math.Min(pairs, Math.Max(count - 1, (int)Math.Round(count * RandomDegree / 2.0)));
        var free = Enumerable.Range(0, count)
            .SelectMany(i => Enumerable.Range(i + 1, count - i - 1).Select(j => (i, j)))
            .Where(pair => !linked.Contains(pair))
            .ToArray();
        random.Shuffle(free);
        foreach (var (a, b) in free.Take(wanted - links.Count))
        {
            Add(a, b);
        }

        return links;
    }
}
