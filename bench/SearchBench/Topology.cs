namespace P2PTransfer.Bench;

/// <summary>
/// A random connected network: a random spanning tree (the nodes in random order, each attached to a random node
/// before it), then random extra links between distinct pairs not yet linked, until there are as many links as asked.
/// Links are (Low, High) with Low &lt; High; the higher node dials the lower one.
/// </summary>
internal sealed class Topology
{
    private Topology(int nodes, List<(int Low, int High)> links)
    {
        Nodes = nodes;
        Links = links;
        Neighbours = [.. Enumerable.Range(0, nodes).Select(_ => new List<int>())];
        foreach (var (low, high) in links)
        {
            Neighbours[low].Add(high);
            Neighbours[high].Add(low);
        }
    }

    public int Nodes { get; }

    public IReadOnlyList<(int Low, int High)> Links { get; }

    public IReadOnlyList<List<int>> Neighbours { get; }

    public int Degree(int node) => Neighbours[node].Count;

    public static Topology Random(int nodes, int links, Random random)
    {
        var most = nodes * (nodes - 1) / 2;
        if (links < nodes - 1 || links > most)
        {
            throw new ArgumentOutOfRangeException(nameof(links), $"{nodes} nodes take {nodes - 1}-{most} links, not {links}");
        }

        var order = Enumerable.Range(0, nodes).ToArray();
        random.Shuffle(order);
        var set = new HashSet<(int, int)>();
        var list = new List<(int Low, int High)>(links);
        void Add(int a, int b)
        {
            var link = (Math.Min(a, b), Math.Max(a, b));
            if (set.Add(link))
            {
                list.Add(link);
            }
        }

        for (var i = 1; i < nodes; i++)
        {
            Add(order[i], order[random.Next(i)]);
        }

        // Bounded: with links at most half of all pairs (degree 4 of 20 or 50 nodes) a try fails rarely.
        for (var attempt = 0; list.Count < links && attempt < 1000 * links; attempt++)
        {
            var a = random.Next(nodes);
            var b = random.Next(nodes);
            if (a != b)
            {
                Add(a, b);
            }
        }

        if (list.Count < links)
        {
            throw new InvalidOperationException($"could not draw {links} distinct links between {nodes} nodes");
        }

        return new Topology(nodes, list);
    }

    /// <summary>Links on the shortest way from a node to every other (BFS).</summary>
    public int[] Distances(int from)
    {
        var distance = Enumerable.Repeat(-1, Nodes).ToArray();
        var queue = new Queue<int>();
        distance[from] = 0;
        queue.Enqueue(from);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var next in Neighbours[node])
            {
                if (distance[next] < 0)
                {
                    distance[next] = distance[node] + 1;
                    queue.Enqueue(next);
                }
            }
        }

        return distance;
    }

    /// <summary>The longest shortest way between two nodes; -1 when the network is not connected.</summary>
    public int Diameter()
    {
        var diameter = 0;
        for (var node = 0; node < Nodes; node++)
        {
            var distances = Distances(node);
            if (distances.Any(d => d < 0))
            {
                return -1;
            }

            diameter = Math.Max(diameter, distances.Max());
        }

        return diameter;
    }

    /// <summary>Query frames a flood sends when every node is reached once, at full TTL, and forwards to all its links but the one it came by.</summary>
    public int OneWaveFlood => (2 * Links.Count) - (Nodes - 1);

    public string Describe()
    {
        var degrees = Enumerable.Range(0, Nodes).Select(Degree).ToList();
        return $"{Nodes} nodes, {Links.Count} links, degree avg {2.0 * Links.Count / Nodes:0.0} (min {degrees.Min()}, max {degrees.Max()}), diameter {Diameter()} links";
    }
}
