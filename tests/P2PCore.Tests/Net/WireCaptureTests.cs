using System.Text;
using P2PTransfer.Client;
using P2PTransfer.Protocol;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Net;

/// <summary>What crosses the wire: captured on loopback with tcpdump while nodes and a client search and download.</summary>
public class WireCaptureTests
{
    [Fact]
    public async Task No_file_name_or_file_content_crosses_the_wire_in_the_clear_while_files_are_searched_and_downloaded()
    {
        await using var nodes = new TestNodes();
        var unique = Guid.NewGuid().ToString("N")[..12];
        var name = $"quokka-ledger-{unique}.txt";
        var marker = $"QUOKKA-CONTENT-{unique}";
        var content = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(marker + "\n", (int)(1.5 * MiB) / (marker.Length + 1))));
        var (source, _) = await StartSharingAsync(nodes, "source", 1, [(name, content)]);
        var entry = await nodes.StartAsync("entry", 2);
        var pcap = Path.Combine(nodes.Root, "wire.pcap");
        await using var capture = await LoopbackCapture.StartAsync(pcap, [source.Port, entry.Port]);

        // A peer link, a network search through it, a pure client's search, and a download: every kind of connection.
        await entry.ConnectPeerAsync(source.Endpoint);
        var found = Assert.Single(await SearchNetwork.SearchAsync(entry, new FileQuery { Names = ["quokka-ledger-*"] }));
        Assert.Equal(name, found.Name);
        await using (var client = await NodeClient.ConnectAsync(entry.Endpoint))
        {
            var results = new List<P2PSearchResult>();
            await foreach (var result in client.SearchAsync(new FileQuery { Names = [name] }, new SearchOptions { Timeout = TimeSpan.FromSeconds(2) }))
            {
                results.Add(result);
            }

            Assert.Equal(name, Assert.Single(results).Name);
        }

        await using (var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes) }))
        {
            var item = batch.Add(found.Hash, found.Name, found.Size, found.Endpoint)!;
            await RunAsync(batch);
            Assert.True(File.ReadAllBytes(item.Destination).AsSpan().SequenceEqual(content), Describe(item));
        }

        int dropped = await capture.StopAsync(source.Endpoint);

        var wire = File.ReadAllBytes(pcap);
        Assert.True(dropped == 0, $"tcpdump lost packets, so the capture proves nothing: {capture.Summary}");
        Assert.True(wire.Length > content.Length, $"the capture holds {wire.Length} bytes: it missed the download ({capture.Summary})");
        Assert.True(wire.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name)) < 0, "the file name crossed the wire in the clear");
        Assert.True(wire.AsSpan().IndexOf(Encoding.UTF8.GetBytes(unique)) < 0, "part of the file name or content crossed the wire in the clear");
        Assert.True(wire.AsSpan().IndexOf(Encoding.ASCII.GetBytes(marker)) < 0, "the file's content crossed the wire in the clear");
    }
}
