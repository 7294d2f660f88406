using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// The session's list of downloads and their controls: ids while a batch lives, suspend (nothing fetched, the partial
/// file kept), resume (from the record), stop (partial kept, or discarded), and downloads an earlier run left found
/// again from their records. Real nodes over loopback; a proxy that holds the source's data keeps each download in
/// flight for as long as a test acts on it.
/// </summary>
public class TransferRegistryTests
{
    private static DownloadBatch Batch(string destination, TransferRegistry registry) =>
        new(new DownloadOptions { Destination = destination, Registry = registry });

    /// <summary>A 7 MiB file whose only source passes 3 MiB and holds the rest, with the download underway.</summary>
    private static async Task<(DownloadItem Item, byte[] Content)> StartHeldAsync(DownloadBatch batch, LatencyProxy proxy, byte[] content)
    {
        proxy.HoldUpstreamAfter(3 * MiB);
        var item = batch.Add(HashOf(content), "f.bin", content.Length, proxy.Endpoint)!;
        Assert.True(await Eventually.TrueAsync(() => item.BytesDone >= 2 * MiB, Wait), $"progress: {item.BytesDone}");
        return (item, content);
    }

    [Fact]
    public async Task A_batch_lists_its_downloads_with_ids_while_it_lives_and_takes_them_off_when_disposed()
    {
        await using var nodes = new TestNodes();
        var first = Content(1000, 1);
        var second = Content(2000, 2);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("a.bin", first), ("b.bin", second)]);
        var registry = new TransferRegistry();

        var batch = Batch(Destination(nodes), registry);
        var a = batch.Add(HashOf(first), "a.bin", first.Length, node.Endpoint)!;
        var b = batch.Add(HashOf(second), "b.bin", second.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.Equal([1, 2], registry.Downloads.Select(d => d.Id));
        Assert.Same(b, registry.Get(2));
        Assert.All(registry.Downloads, d => Assert.Equal(DownloadState.Completed, d.State));
        Assert.Equal(first.Length, a.BytesDone);
        await batch.DisposeAsync();
        Assert.Empty(registry.Downloads);

        // Ids are never given twice in a registry.
        await using var again = Batch(Destination(nodes, "again"), registry);
        Assert.Equal(3, again.Add(HashOf(first), "a.bin", first.Length, node.Endpoint)!.Id);
    }

    [Fact]
    public async Task A_suspended_download_lets_go_of_its_partial_file_and_on_resume_fetches_only_what_its_record_lacks()
    {
        await using var nodes = new TestNodes();
        var content = Content((7 * MiB) + 5, 3);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var registry = new TransferRegistry();
        var destination = Destination(nodes);
        await using var proxy = new LatencyProxy("127.0.0.1", node.Endpoint, TimeSpan.Zero);
        await using var batch = Batch(destination, registry);
        var (item, _) = await StartHeldAsync(batch, proxy, content);

        Assert.True(item.Suspend());

        Assert.Equal(DownloadState.Suspended, item.State);
        // The run ended: the record is no longer held, and it says what was verified.
        var target = Path.Combine(destination, "f.bin");
        Assert.True(await Eventually.TrueAsync(() => PartialFile.ReadRecord(target) is not null, Wait), "the suspended download still holds its record");
        long verified = PartialFile.ReadRecord(target)!.Value.BytesVerified;
        Assert.InRange(verified, 2 * MiB, 3 * MiB);
        Assert.Equal(DownloadState.Suspended, registry.Get(item.Id)!.State);
        Assert.False(batch.WhenAllAsync().IsCompleted);

        // The first run had all 8 pieces requested at once: the server serves them all (the suspended run lets the
        // late ones go) before the count the resumed run is judged by is taken.
        proxy.ReleaseUpstream();
        Assert.True(await Eventually.TrueAsync(() => node.TransferCounters.PiecesServed == 8, Wait), $"served before the resume: {node.TransferCounters.PiecesServed}");
        long servedBefore = node.TransferCounters.PiecesServed;
        Assert.True(item.Resume());
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Completed, Describe(item));
        Assert.Equal(content, File.ReadAllBytes(target));
        Assert.Equal(verified, item.BytesResumed);
        Assert.Equal(content.LongLength, item.BytesDone);
        Assert.False(File.Exists(target + PartialFile.DataSuffix));
        Assert.True(node.TransferCounters.PiecesServed - servedBefore <= 8 - (verified / MiB), $"served again: {node.TransferCounters.PiecesServed - servedBefore}");
    }

    [Fact]
    public async Task A_download_resumed_at_once_after_a_suspend_goes_on_instead_of_failing_while_its_suspended_run_unwinds()
    {
        await using var nodes = new TestNodes();
        var content = Content((7 * MiB) + 5, 5);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        await using var proxy = new LatencyProxy("127.0.0.1", node.Endpoint, TimeSpan.Zero);
        await using var batch = Batch(Destination(nodes), new TransferRegistry());
        var (item, _) = await StartHeldAsync(batch, proxy, content);

        // Resumed before the suspended run has ended: that run's end is still a suspend.
        Assert.True(item.Suspend());
        Assert.True(item.Resume());
        proxy.ReleaseUpstream();
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Completed, Describe(item));
        Assert.Equal(content, File.ReadAllBytes(item.Destination));
    }

    [Fact]
    public async Task A_stopped_download_keeps_its_partial_file_and_is_found_again_from_its_record_once_its_batch_is_gone()
    {
        await using var nodes = new TestNodes();
        var content = Content((7 * MiB) + 5, 4);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var registry = new TransferRegistry();
        var destination = Destination(nodes);
        await using var proxy = new LatencyProxy("127.0.0.1", node.Endpoint, TimeSpan.Zero);
        var batch = Batch(destination, registry);
        var (item, _) = await StartHeldAsync(batch, proxy, content);

        Assert.True(item.Stop());
        await RunAsync(batch);

        Assert.Equal(DownloadState.Stopped, item.State);
        Assert.False(item.Resume());
        Assert.False(item.Suspend());
        await batch.DisposeAsync();
        Assert.Empty(registry.Downloads);

        var found = Assert.Single(registry.FindInterrupted(destination));
        Assert.Equal(DownloadState.Stopped, found.State);
        Assert.Equal(HashOf(content), found.Hash);
        Assert.Equal(content.LongLength, found.Size);
        Assert.Equal(Path.Combine(destination, "f.bin"), found.Destination);
        Assert.Equal("f.bin", found.Name);
        Assert.InRange(found.BytesDone, 2 * MiB, 3 * MiB);
        Assert.Equal(found.Destination, registry.FindAt(found.PartialPath)!.Destination);
    }

    [Fact]
    public async Task A_download_stopped_with_discard_leaves_no_partial_file()
    {
        await using var nodes = new TestNodes();
        var content = Content((7 * MiB) + 5, 5);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var registry = new TransferRegistry();
        var destination = Destination(nodes);
        await using var proxy = new LatencyProxy("127.0.0.1", node.Endpoint, TimeSpan.Zero);
        await using var batch = Batch(destination, registry);
        var (item, _) = await StartHeldAsync(batch, proxy, content);

        Assert.True(item.Suspend());
        Assert.True(item.Stop(discard: true));
        await RunAsync(batch);

        Assert.Equal(DownloadState.Stopped, item.State);
        Assert.Empty(Directory.GetFiles(destination));
        Assert.DoesNotContain(registry.FindInterrupted(destination), d => d.Id == 0);
    }

    [Fact]
    public async Task A_download_of_another_process_is_not_listed_as_interrupted_while_it_holds_its_record()
    {
        await using var nodes = new TestNodes();
        var content = Content((7 * MiB) + 5, 6);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        await using var proxy = new LatencyProxy("127.0.0.1", node.Endpoint, TimeSpan.Zero);
        // A batch of another registry stands for another process: its record is locked.
        await using var other = Batch(destination, new TransferRegistry());
        await StartHeldAsync(other, proxy, content);

        Assert.Empty(new TransferRegistry().FindInterrupted(destination));
    }
}
