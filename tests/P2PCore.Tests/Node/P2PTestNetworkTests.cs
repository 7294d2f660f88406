using P2PTransfer.Node;
using P2PTransfer.Protocol;

namespace P2PTransfer.Tests.Node;

public class P2PTestNetworkTests
{
    [Fact]
    public async Task A_ring_of_four_is_returned_with_every_link_listed_at_both_ends_and_every_generated_file_indexed()
    {
        await using var network = await P2PTestNetwork.StartAsync(new TestNetworkOptions { Count = 4, Topology = TestTopology.Ring });

        Assert.Equal(["n0", "n1", "n2", "n3"], network.Nodes.Select(n => n.Name));
        Assert.Equal(["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"], network.Nodes.Select(n => n.ListenAddress));
        Assert.Equal(["n0 - n1", "n1 - n2", "n2 - n3", "n3 - n0"], network.Links.Select(l => l.ToString()));
        for (var i = 0; i < 4; i++)
        {
            var node = network.Nodes[i];
            string[] neighbours = [$"n{(i + 3) % 4}", $"n{(i + 1) % 4}"];
            Assert.Equal(neighbours.Order(), node.GetPeers().Select(p => p.Name).Order());
            var own = Assert.Single(node.SearchLocal(new FileQuery()));
            Assert.Equal($"n{i}.txt", own.Name);
        }

        Assert.Same(network.Nodes[2], network["N2"]);
        Assert.Null(network.Seed);
    }

    [Fact]
    public async Task Removing_a_network_stops_every_node_and_deletes_its_folder_but_not_the_shares_it_was_given()
    {
        var given = Directory.CreateTempSubdirectory("p2pt-given-");
        try
        {
            File.WriteAllText(Path.Combine(given.FullName, "mine.txt"), "given");
            var network = await P2PTestNetwork.StartAsync(new TestNetworkOptions { Count = 2, Shares = [given.FullName, ""], NamePrefix = "peer", FirstAddress = "127.0.0.20" });
            Assert.Equal("mine.txt", Assert.Single(network["peer0"].SearchLocal(new FileQuery())).Name);
            Assert.Empty(network["peer1"].SearchLocal(new FileQuery()));
            Assert.True(Directory.Exists(network.Root));

            await network.RemoveAsync();
            await network.RemoveAsync();

            Assert.All(network.Nodes, n => Assert.Equal(NodeStatus.Stopped, n.Status));
            Assert.False(Directory.Exists(network.Root));
            Assert.True(File.Exists(Path.Combine(given.FullName, "mine.txt")));
        }
        finally
        {
            given.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_random_network_keeps_its_seed_and_the_same_seed_links_the_same_pairs()
    {
        await using var network = await P2PTestNetwork.StartAsync(new TestNetworkOptions { Count = 5, Topology = TestTopology.Random, Seed = 7, FirstAddress = "127.0.0.30" });

        Assert.Equal(7, network.Seed);
        var expected = TopologyLinks.Create(TestTopology.Random, 5, new Random(7)).Select(p => $"n{p.From} - n{p.To}");
        Assert.Equal(expected, network.Links.Select(l => l.ToString()));
        Assert.All(network.Links, l => Assert.Contains(l.From.GetPeers(), p => p.NodeId == l.To.Id));
    }

    [Theory]
    [InlineData("127.0.0.0")]
    [InlineData("10.0.0.1")]
    [InlineData("::1")]
    [InlineData("127.255.255.253")]
    public async Task A_first_address_that_leaves_loopback_for_some_node_is_refused_before_anything_starts(string first)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => P2PTestNetwork.StartAsync(new TestNetworkOptions { Count = 3, FirstAddress = first }));

        Assert.Contains(first, error.Message);
    }

    [Fact]
    public async Task A_share_list_that_does_not_give_one_share_per_node_is_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => P2PTestNetwork.StartAsync(new TestNetworkOptions { Count = 3, Shares = ["a", "b"] }));

        Assert.Equal("give one share per node: 3 nodes, 2 share(s)", error.Message);
    }

    [Fact]
    public async Task A_network_not_linked_in_time_fails_with_a_timeout_that_names_the_missing_links()
    {
        var error = await Assert.ThrowsAsync<TimeoutException>(() => P2PTestNetwork.StartAsync(new TestNetworkOptions { Count = 2, Timeout = TimeSpan.Zero, FirstAddress = "127.0.0.40" }));

        Assert.StartsWith("the test network was not ready within 0 s: n0 has no link to n1; n1 has no link to n0", error.Message);
    }
}
