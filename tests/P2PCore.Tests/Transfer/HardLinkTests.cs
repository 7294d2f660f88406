using System.Diagnostics;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// A hard link is not a link to follow but one more name of a file (docs/protocol.md section 12): a share serves
/// regular files by their place in it, so a hard link inside a share is shared as the file it is, its bytes wherever
/// its other names are, just as a copy put there would be. Symbolic links, which point elsewhere, are never followed.
/// </summary>
public sealed class HardLinkTests
{
    [Fact]
    public async Task A_hard_link_inside_a_share_to_a_file_outside_it_is_shared_and_served_as_the_file_it_is()
    {
        await using var nodes = new TestNodes();
        var outside = Path.Combine(nodes.Root, "private", "notes.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(outside)!);
        var content = Content((2 * MiB) + 11, 301);
        File.WriteAllBytes(outside, content);
        var folder = Path.Combine(nodes.Root, "share-linked");
        Directory.CreateDirectory(folder);
        await HardLinkAsync(outside, Path.Combine(folder, "alias.bin"));

        var node = await nodes.StartAsync("server", 1, options => options.Index.Shares = [folder]);
        await TestShare.IdleAsync(node.Index);

        var shared = Assert.Single(node.Index.GetFiles());
        Assert.Equal("share-linked/alias.bin", shared.RelativePath);
        Assert.Equal(HashOf(content), shared.Hash);
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes) });
        var item = batch.Add(HashOf(content), "alias.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);
        Assert.True(item.State == DownloadState.Completed, Describe(item));
        Assert.Equal(content, File.ReadAllBytes(item.Destination));
    }

    /// <summary>Makes <paramref name="link"/> a second name of <paramref name="target"/> (the same file, not a pointer to it).</summary>
    private static async Task HardLinkAsync(string target, string link)
    {
        var start = OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd", ["/c", "mklink", "/H", link, target])
            : new ProcessStartInfo("ln", [target, link]);
        using var process = Process.Start(start)!;
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, process.ExitCode);
        Assert.Null(new FileInfo(link).LinkTarget);
    }
}
