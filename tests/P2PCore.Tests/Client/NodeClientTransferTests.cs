using P2PTransfer.Client;
using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Client;

/// <summary>A pure client's piece requests against a node's upload limits (the piece requests are internal to the engine).</summary>
public class NodeClientTransferTests
{
    [Fact]
    public async Task A_fourth_client_of_a_node_with_three_upload_slots_is_refused_NodeBusy_and_counted()
    {
        await using var nodes = new TestNodes();
        var content = Content(3 * MiB, 62);
        var (node, _) = await StartSharingAsync(nodes, "small-slots", 62, [("inside.bin", content)], o => o.MaxUploads = 3);
        var hash = HashBytes(content);
        Assert.Equal(3, node.MaxUploads);

        // Three clients each hold a slot (an upload lasts 3 s past its last request); the fourth is told 'busy'.
        var clients = new List<NodeClient>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                clients.Add(await NodeClient.ConnectAsync(node.Endpoint));
            }

            foreach (var client in clients.Take(3))
            {
                Assert.Equal(3L * MiB, (await client.GetPieceListAsync(hash, 0, CancellationToken.None)).Size);
            }

            var refusal = await Assert.ThrowsAnyAsync<P2PException>(() => clients[3].GetPieceListAsync(hash, 0, CancellationToken.None));
            Assert.Equal(ProtocolError.NodeBusy, refusal.Code);
            Assert.Equal(1, node.TransferCounters.UploadsRefusedBusy);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_piece_out_of_range_is_refused_PieceOutOfRange_with_the_piece_count_and_the_client_can_go_on()
    {
        await using var nodes = new TestNodes();
        var content = Content(3 * MiB, 61);
        var (node, _) = await StartSharingAsync(nodes, "guard", 61, [("inside.bin", content)]);
        var hash = HashBytes(content);
        await using var client = await NodeClient.ConnectAsync(node.Endpoint);

        var refusal = await Assert.ThrowsAnyAsync<P2PException>(() => client.GetPieceAsync(hash, 3, CancellationToken.None));
        Assert.Equal(ProtocolError.PieceOutOfRange, refusal.Code);
        Assert.Matches("piece 3 is out of range.*has 3 piece", refusal.Message);

        // The connection is still good for a piece that exists.
        var piece = await client.GetPieceAsync(hash, 2, CancellationToken.None);
        try
        {
            Assert.Equal(MiB, piece.Length);
        }
        finally
        {
            piece.Release();
        }
    }
}
