using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// Where a batch that keeps folders saves each file: at its relative path below the destination, folders made as
/// needed, each segment a safe name, so nothing lands outside the destination and same names in different folders
/// are different files.
/// </summary>
public class DestinationPathTests
{
    private static DownloadBatch Batch(string destination, bool keepFolders) =>
        new(new DownloadOptions { Destination = destination, KeepFolders = keepFolders });

    [Fact]
    public async Task Files_keep_their_folders_below_the_destination_and_same_names_in_different_folders_do_not_collide()
    {
        await using var nodes = new TestNodes();
        var top = Content(100, 1);
        var below = Content(200, 2);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("a.txt", top), ("sub/deeper/a.txt", below)]);
        var destination = Destination(nodes);
        await using var batch = Batch(destination, keepFolders: true);

        var first = batch.Add(HashOf(top), "pub/a.txt", top.Length, node.Endpoint)!;
        var second = batch.Add(HashOf(below), "pub/sub/deeper/a.txt", below.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.Equal(Path.Combine(destination, "pub", "a.txt"), first.Destination);
        Assert.Equal(Path.Combine(destination, "pub", "sub", "deeper", "a.txt"), second.Destination);
        Assert.Equal("pub/sub/deeper/a.txt", second.Name);
        Assert.Equal(top, File.ReadAllBytes(first.Destination));
        Assert.Equal(below, File.ReadAllBytes(second.Destination));
    }

    [Fact]
    public async Task Without_kept_folders_two_contents_of_one_name_collide_and_a_path_is_not_a_name()
    {
        await using var nodes = new TestNodes();
        await using var batch = Batch(Destination(nodes), keepFolders: false);

        batch.Add(new string('A', 64), "a.txt", 1, "127.0.0.1:1");
        var collision = Assert.Throws<ArgumentException>(() => batch.Add(new string('B', 64), "a.txt", 1, "127.0.0.1:1"));
        Assert.Contains("keep their folders", collision.Message);
        Assert.Contains("not a safe file name", Assert.Throws<ArgumentException>(() => batch.TargetPath(new string('C', 64), "pub/a.txt")).Message);
        batch.Cancel();
    }

    [Theory]
    [InlineData("../x.txt")]
    [InlineData("a/../../x.txt")]
    [InlineData("a/./x.txt")]
    [InlineData("/etc/x.txt")]
    [InlineData("a//x.txt")]
    [InlineData("a/")]
    [InlineData(@"a\..\..\x.txt")]
    [InlineData("C:/x.txt")]
    [InlineData("a/CON/x.txt")]
    [InlineData("a/x.txt.p2ppart")]
    public void A_relative_path_that_could_leave_the_destination_or_is_not_a_name_in_every_segment_is_refused(string relativePath)
    {
        var destination = Path.Combine(Path.GetTempPath(), "p2pt-tests", Guid.NewGuid().ToString("N"));
        var batch = Batch(destination, keepFolders: true);

        var error = Assert.Throws<ArgumentException>(() => batch.Add(new string('A', 64), relativePath, 1, "127.0.0.1:1"));
        Assert.Contains("not a safe relative path", error.Message);
        Assert.Empty(batch.Items);
        Assert.False(Directory.Exists(destination));
    }
}
