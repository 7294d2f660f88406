using P2PTransfer.Node;

namespace P2PTransfer.Tests.Node;

public class TopologyLinksTests
{
    [Fact]
    public void A_line_links_each_node_to_the_next()
    {
        Assert.Equal([(0, 1), (1, 2), (2, 3), (3, 4)], TopologyLinks.Create(TestTopology.Line, 5, new Random(1)));
    }

    [Fact]
    public void A_ring_is_a_line_whose_last_node_is_linked_to_the_first()
    {
        Assert.Equal([(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)], TopologyLinks.Create(TestTopology.Ring, 5, new Random(1)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_ring_of_fewer_than_three_nodes_is_a_line_with_no_pair_linked_twice(int count)
    {
        Assert.Equal(TopologyLinks.Create(TestTopology.Line, count, new Random(1)), TopologyLinks.Create(TestTopology.Ring, count, new Random(1)));
    }

    [Fact]
    public void A_mesh_links_every_pair_once()
    {
        var links = TopologyLinks.Create(TestTopology.Mesh, 5, new Random(1));

        Assert.Equal(10, links.Count);
        Assert.Equal(10, links.Select(Pair).Distinct().Count());
        Assert.All(links, l => Assert.NotEqual(l.From, l.To));
    }

    [Fact]
    public void A_single_node_has_no_links_in_any_shape()
    {
        foreach (var topology in Enum.GetValues<TestTopology>())
        {
            Assert.Empty(TopologyLinks.Create(topology, 1, new Random(1)));
        }
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(4, 6)]
    [InlineData(10, 15)]
    [InlineData(30, 45)]
    public void A_random_network_is_connected_with_about_three_links_per_node_and_no_pair_linked_twice(int count, int expectedLinks)
    {
        for (var seed = 0; seed < 50; seed++)
        {
            var links = TopologyLinks.Create(TestTopology.Random, count, new Random(seed));

            Assert.Equal(expectedLinks, links.Count);
            Assert.Equal(links.Count, links.Select(Pair).Distinct().Count());
            Assert.All(links, l => Assert.NotEqual(l.From, l.To));
            Assert.Equal(count, Reachable(links, count));
        }
    }

    [Fact]
    public void The_same_seed_draws_the_same_random_network_and_another_seed_another()
    {
        var first = TopologyLinks.Create(TestTopology.Random, 12, new Random(42));

        Assert.Equal(first, TopologyLinks.Create(TestTopology.Random, 12, new Random(42)));
        Assert.NotEqual(first, TopologyLinks.Create(TestTopology.Random, 12, new Random(43)));
    }

    private static (int, int) Pair((int From, int To) link) => (Math.Min(link.From, link.To), Math.Max(link.From, link.To));

    /// <summary>How many nodes node 0 reaches over the links.</summary>
    private static int Reachable(IReadOnlyList<(int From, int To)> links, int count)
    {
        var seen = new HashSet<int> { 0 };
        var queue = new Queue<int>([0]);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var (a, b) in links)
            {
                foreach (var next in a == node ? [b] : b == node ? new[] { a } : [])
                {
                    if (seen.Add(next))
                    {
                        queue.Enqueue(next);
                    }
                }
            }
        }

        return seen.Count;
    }
}
