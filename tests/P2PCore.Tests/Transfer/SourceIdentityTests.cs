using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// A download's sources are places and, when a search result named one, the node expected there: every spelling of
/// one address is one connection, a place where another node answers is not downloaded from, and one node is used
/// at no more than a few addresses.
/// </summary>
public class SourceIdentityTests
{
    private static DownloadBatch Batch(string destination) => new(new DownloadOptions { Destination = destination });

    [Fact]
    public async Task Spellings_of_one_endpoint_with_leading_zeros_or_a_mapped_address_are_one_source_and_open_one_connection()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 5, 7);
        var (node, _) = await StartSharingAsync(nodes, "server", 5, [("two.bin", content)]);
        int port = node.Port;
        await using var batch = Batch(Destination(nodes));
        string[] spellings = [$"127.0.0.5:{port}", $"127.0.0.5:0{port}", $"127.0.0.5:00{port}", $"127.000.000.005:{port}", $"[::ffff:127.0.0.5]:{port}", $" 127.0.0.5:{port} "];

        var item = batch.Add(HashOf(content), "two.bin", content.Length, spellings[0], node.Id)!;
        foreach (var spelling in spellings.Skip(1))
        {
            Assert.Null(batch.Add(HashOf(content), "two.bin", content.Length, spelling, node.Id));
        }

        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Completed, Describe(item));
        Assert.Single(item.Sources);
        Assert.Equal(1, node.Counters.ConnectionsAccepted);
    }

    [Fact]
    public async Task A_result_whose_endpoint_answers_as_another_node_is_not_downloaded_from()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 5, 8);
        var (node, _) = await StartSharingAsync(nodes, "server", 6, [("two.bin", content)]);
        var claimed = Guid.NewGuid();
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(content), "two.bin", content.Length, node.Endpoint, claimed)!;
        await RunAsync(batch);

        Assert.Equal(DownloadState.Failed, item.State);
        var reason = Assert.Single(item.SourceFailures).Value;
        Assert.Contains($"not node {claimed}", reason, StringComparison.Ordinal);
        Assert.Equal(ProtocolError.ConnectionLost, Assert.IsType<P2PException>(item.Error).Code);
        Assert.Equal(0, node.TransferCounters.PieceListsServed + node.TransferCounters.PiecesServed);
        Assert.False(File.Exists(item.Destination));
    }

    [Fact]
    public async Task The_node_expected_at_an_address_is_served_there_beside_a_result_that_named_another_node_at_it()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 5, 9);
        var (node, _) = await StartSharingAsync(nodes, "server", 7, [("two.bin", content)]);
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(content), "two.bin", content.Length, node.Endpoint, Guid.NewGuid())!;
        Assert.Null(batch.Add(HashOf(content), "two.bin", content.Length, node.Endpoint, node.Id));
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Completed, Describe(item));
        Assert.Equal(1, node.Counters.ConnectionsAccepted);
    }

    [Fact]
    public async Task One_node_is_a_source_at_no_more_than_its_cap_of_addresses()
    {
        await using var nodes = new TestNodes();
        await using var batch = Batch(Destination(nodes));
        var node = Guid.NewGuid();
        var hash = new string('A', 64);

        // Nothing listens on these loopback ports: the sources are only counted, then the batch is cancelled.
        var item = batch.Add(hash, "f", 10, "127.0.0.1:1000", node)!;
        for (int port = 1001; port < 1200; port++)
        {
            Assert.Null(batch.Add(hash, "f", 10, $"127.0.0.1:{port}", node));
        }

        Assert.Equal(TransferLimits.MaxAddressesPerNode, item.Sources.Count);
        batch.Cancel();
    }

    [Theory]
    [InlineData("127.0.0.1:047100", "127.0.0.1:47100")]
    [InlineData("127.000.000.001:47100", "127.0.0.1:47100")]
    [InlineData("[::ffff:127.0.0.1]:47100", "127.0.0.1:47100")]
    [InlineData("[0:0::1]:00080", "[::1]:80")]
    [InlineData("Node.Example.:47100", "node.example:47100")]
    [InlineData("node.example", "node.example:47100")]
    public void An_address_is_normalised_to_one_spelling(string given, string normal)
    {
        Assert.Equal(normal, SourcePool.Normalise(given));
    }
}
