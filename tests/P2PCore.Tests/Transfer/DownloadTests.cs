using System.Diagnostics;
using P2PTransfer.Common;
using P2PTransfer.Index;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// Downloads from real nodes over loopback into real files: whole and verified from one source or many, in spite of
/// a source with a corrupted copy, resumed without fetching again what is on disk, never writing outside the
/// destination, never replacing other content without -Force.
/// </summary>
public class DownloadTests
{
    private static DownloadBatch Batch(string destination, bool force = false, int maxSources = TransferLimits.DefaultMaxSources, TimeSpan? stall = null, CancellationToken cancellationToken = default) =>
        new(new DownloadOptions { Destination = destination, Force = force, MaxSources = maxSources, StallTimeout = stall ?? TransferLimits.StallTimeout }, cancellationToken);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_multi_piece_file_from_one_source_arrives_intact_with_each_piece_served_once(bool sizeKnown)
    {
        await using var nodes = new TestNodes();
        var content = Content((5 * MiB) + 123, 100);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("five.bin", content)]);
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(content), "five.bin", sizeKnown ? content.Length : null, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(content.LongLength, item.BytesDone);
        Assert.Equal(0, item.BytesResumed);
        Assert.Empty(item.SourceFailures);
        Assert.Equal(6, node.TransferCounters.PiecesServed);
        Assert.Equal(content.LongLength, node.TransferCounters.BytesServed);
        Assert.Equal(1, node.TransferCounters.PieceListsServed);
        Assert.Equal(1, node.TransferCounters.UploadsStarted);
        Assert.True(batch.TryTakeFinished(out var finished));
        Assert.Same(item, finished);
        Assert.False(batch.TryTakeFinished(out _));
    }

    [Fact]
    public async Task A_destination_folder_that_cannot_be_made_fails_each_file_on_its_own_with_access_denied()
    {
        await using var nodes = new TestNodes();
        var one = Content(1000, 31);
        var two = Content(2000, 32);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("one.bin", one), ("two.bin", two)]);
        var destination = Path.Combine(UnwritableFolder(nodes), "sub");
        await using var batch = Batch(destination);

        // Adding does not touch the file system: each download finds out for itself, and fails alone.
        var first = batch.Add(HashOf(one), "one.bin", one.Length, node.Endpoint)!;
        var second = batch.Add(HashOf(two), "two.bin", two.Length, node.Endpoint)!;
        await RunAsync(batch);

        foreach (var item in new[] { first, second })
        {
            Assert.True(item.State == DownloadState.Failed, Describe(item));
            var error = Assert.IsType<UnauthorizedAccessException>(item.Error);
            Assert.Contains($"cannot create the destination folder '{destination}'", error.Message);
        }

        Assert.Equal(0, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_destination_folder_under_a_regular_file_fails_each_file_on_its_own_naming_the_folder_and_the_rest_carries_on()
    {
        await using var nodes = new TestNodes();
        var one = Content(1000, 33);
        var two = Content(2000, 34);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("one.bin", one), ("two.bin", two)]);
        // A file where a folder of the path should be: ENOTDIR on every system, root included.
        var file = Path.Combine(nodes.Root, "file");
        File.WriteAllText(file, "not a folder");
        var destination = Path.Combine(file, "sub");
        await using var blocked = Batch(destination);
        await using var open = Batch(Destination(nodes));

        var first = blocked.Add(HashOf(one), "one.bin", one.Length, node.Endpoint)!;
        var second = blocked.Add(HashOf(two), "two.bin", two.Length, node.Endpoint)!;
        var elsewhere = open.Add(HashOf(two), "two.bin", two.Length, node.Endpoint)!;
        await RunAsync(blocked);
        await RunAsync(open);

        foreach (var item in new[] { first, second })
        {
            Assert.True(item.State == DownloadState.Failed, Describe(item));
            var error = Assert.IsType<DestinationFolderException>(item.Error);
            Assert.Contains($"cannot create the destination folder '{destination}'", error.Message);
        }

        AssertArrived(elsewhere, two);
    }

    /// <summary>
    /// A folder in which no one can make a folder, root included (tests may run as root, which ignores mode bits): on
    /// Linux a new name under /sys, elsewhere a folder without write permission.
    /// </summary>
    private static string UnwritableFolder(TestNodes nodes)
    {
        if (OperatingSystem.IsLinux())
        {
            return $"/sys/p2ptransfer-{Guid.NewGuid():N}";
        }

        var folder = Directory.CreateDirectory(Path.Combine(nodes.Root, "read-only")).FullName;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        else
        {
            new DirectoryInfo(folder).Attributes |= FileAttributes.ReadOnly;
        }

        return folder;
    }

    [Fact]
    public async Task A_file_held_by_three_nodes_is_fetched_from_all_of_them_and_arrives_intact()
    {
        await using var nodes = new TestNodes();
        var content = Content((20 * MiB) + 1, 101);
        var servers = new List<P2PNode>();
        for (int i = 0; i < 3; i++)
        {
            servers.Add((await StartSharingAsync(nodes, $"s{i}", i + 1, [("shared.bin", content)])).Node);
        }

        var hash = HashOf(content);
        // Paced (about 2 s in all), so the first source cannot take the whole file before the others have connected.
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes), MaxBytesPerSecond = 10 * MiB });
        var item = batch.Add(hash, "shared.bin", content.Length, servers[0].Endpoint)!;
        Assert.Null(batch.Add(hash, "shared.bin", content.Length, servers[1].Endpoint));
        Assert.Null(batch.Add(hash.ToLowerInvariant(), null, null, servers[2].Endpoint));
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Single(batch.Items);
        Assert.Equal(servers.Select(s => s.Endpoint), item.Sources);
        Assert.Empty(item.SourceFailures);
        Assert.All(servers, s => Assert.True(s.TransferCounters.PiecesServed >= 1, $"{s.Name} served no piece: {string.Join(", ", servers.Select(x => x.TransferCounters.PiecesServed))}"));
        Assert.InRange(servers.Sum(s => s.TransferCounters.PiecesServed), 21, 2 * 21);
        Assert.Equal(1, servers.Sum(s => s.TransferCounters.PieceListsServed));
    }

    [Fact]
    public async Task MaxSources_one_uses_a_single_source_while_it_works()
    {
        await using var nodes = new TestNodes();
        var content = Content((6 * MiB) + 9, 102);
        var first = (await StartSharingAsync(nodes, "s0", 1, [("f.bin", content)])).Node;
        var second = (await StartSharingAsync(nodes, "s1", 2, [("f.bin", content)])).Node;
        await using var batch = Batch(Destination(nodes), maxSources: 1);

        var hash = HashOf(content);
        var item = batch.Add(hash, "f.bin", content.Length, first.Endpoint)!;
        batch.Add(hash, "f.bin", content.Length, second.Endpoint);
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(7, first.TransferCounters.PiecesServed);
        Assert.Equal(0, second.TransferCounters.PiecesServed);
        Assert.Equal(0, second.TransferCounters.UploadsStarted);
    }

    [Fact]
    public async Task MaxBytesPerSecond_holds_a_batch_from_two_sources_to_the_limit_small_files_and_pieces_alike()
    {
        await using var nodes = new TestNodes();
        var big = Content(8 * MiB, 103);
        var small = Enumerable.Range(0, 20).Select(i => ($"small-{i:00}.bin", Content(100_000, 200 + i))).ToList();
        var first = (await StartSharingAsync(nodes, "s0", 1, [("big.bin", big), .. small])).Node;
        var second = (await StartSharingAsync(nodes, "s1", 2, [("big.bin", big)])).Node;
        const long rate = 4 * MiB;
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes), MaxBytesPerSecond = rate });

        var clock = Stopwatch.StartNew();
        var item = batch.Add(HashOf(big), "big.bin", big.Length, first.Endpoint)!;
        batch.Add(HashOf(big), "big.bin", big.Length, second.Endpoint);
        var smallItems = small.Select(f => (Item: batch.Add(HashOf(f.Item2), f.Item1, f.Item2.Length, first.Endpoint)!, Content: f.Item2)).ToList();
        await RunAsync(batch, TimeSpan.FromSeconds(30));
        clock.Stop();

        AssertArrived(item, big);
        Assert.All(smallItems, s => AssertArrived(s.Item, s.Content));
        Assert.True(first.TransferCounters.PiecesServed > 20 && second.TransferCounters.PiecesServed > 0, "both sources served pieces");
        // 10 MB in all: a quarter of a second of burst and one piece on credit may go at once, the rest at 4 MiB/s.
        long total = big.Length + (20 * 100_000);
        double atLeast = (total - (rate / 4) - MiB) / (double)rate;
        Assert.True(clock.Elapsed.TotalSeconds >= atLeast, $"{total:N0} bytes took {clock.Elapsed.TotalSeconds:0.00} s; at {rate:N0} B/s they need at least {atLeast:0.00} s");
    }

    [Fact]
    public void A_byte_budget_lets_one_amount_go_on_credit_then_waits_until_the_debt_is_paid()
    {
        var budget = new P2PTransfer.Common.RateLimit(perSecond: 1000, burst: 250);

        Assert.True(budget.TryTakeOnCredit(250, out var wait));
        Assert.Equal(TimeSpan.Zero, wait);
        Assert.True(budget.TryTakeOnCredit(5000, out _), "an amount beyond the burst goes on credit rather than never");
        Assert.False(budget.TryTakeOnCredit(1, out wait));
        Assert.InRange(wait.TotalMilliseconds, 4000, 5000);
    }

    [Fact]
    public async Task Sources_waiting_for_the_bandwidth_go_first_come_first_served_and_nobody_jumps_the_queue()
    {
        var bandwidth = new Bandwidth(bytesPerSecond: 1000);
        Assert.True(bandwidth.TryTake(3250), "the first piece goes on credit: 3,000 bytes of debt, 3 s");
        var order = new System.Collections.Concurrent.ConcurrentQueue<int>();

        async Task WaitAndTakeAsync(int source)
        {
            using var turn = await bandwidth.WaitTurnAsync(CancellationToken.None);
            order.Enqueue(source);
            turn.Take(100);
        }

        var waiting = new List<Task>();
        for (int source = 0; source < 3; source++)
        {
            waiting.Add(WaitAndTakeAsync(source));
            Assert.True(await Eventually.TrueAsync(() => bandwidth.Waiting == waiting.Count, TimeSpan.FromSeconds(2)), $"source {source} queues");
        }

        await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal([0, 1, 2], order);

        await Task.Delay(400);
        using (var turn = await bandwidth.WaitTurnAsync(CancellationToken.None))
        {
            Assert.False(bandwidth.TryTake(1), "nobody takes beside the one whose turn it is, debt or not");
            turn.Take(1);
        }

        Assert.True(bandwidth.TryTake(1), "with nobody waiting and no debt, a piece goes at once");

        // A source that gives up waiting leaves the queue: it does not block everyone after it.
        bandwidth.TryTake(2000);
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => bandwidth.WaitTurnAsync(giveUp.Token));
        Assert.Equal(0, bandwidth.Waiting);
    }

    [Fact]
    public void A_charge_puts_the_budget_into_debt_whatever_is_left()
    {
        var budget = new P2PTransfer.Common.RateLimit(perSecond: 1000, burst: 250);

        budget.Charge(1250);

        Assert.False(budget.TryTakeOnCredit(1, out var wait));
        Assert.InRange(wait.TotalMilliseconds, 900, 1000);
        Assert.False(budget.TryTake());
    }

    [Fact]
    public async Task A_slow_source_whose_piece_takes_longer_than_the_stall_timeout_is_kept_while_its_bytes_arrive()
    {
        await using var nodes = new TestNodes();
        var content = Content(MiB + 1, 104);
        // The node pings after 300 ms of quiet and judges an unanswered ping after 3 s: well within the piece's time on the link.
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("slow.bin", content)], options =>
        {
            options.KeepAliveInterval = TimeSpan.FromMilliseconds(300);
            options.DeadAfter = TimeSpan.FromSeconds(3);
        });
        // A link of 64 KiB every 500 ms: the 1 MiB piece takes about 8 s to come, twice the stall timeout of 4 s, while
        // its bytes arrive steadily. The link takes the node's data at once, so the node's send queue is empty and its
        // ping waits behind seconds of data it already sent.
        await using var slow = new ThrottledProxy("127.0.0.1", node.Endpoint, 64 * 1024, TimeSpan.FromMilliseconds(500));
        await using var batch = Batch(Destination(nodes), stall: TimeSpan.FromSeconds(4));

        var clock = Stopwatch.StartNew();
        var item = batch.Add(HashOf(content), "slow.bin", content.Length, slow.Endpoint)!;
        await RunAsync(batch, TimeSpan.FromSeconds(30));
        clock.Stop();
        await Task.Delay(TimeSpan.FromSeconds(1)); // a few of the node's keep-alive ticks

        AssertArrived(item, content);
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(6), $"the link was slow: the piece took {clock.Elapsed.TotalSeconds:0.0} s, longer than the 4 s stall timeout");
        Assert.Empty(item.SourceFailures);
        // The node's ping waits behind the piece's tail in the socket buffers; it must not take the slow reader for dead.
        Assert.Equal(0, node.Counters.KeepAliveTimeouts);
    }

    [Fact]
    public async Task A_source_with_a_corrupted_copy_is_dropped_for_bad_data_and_the_file_still_arrives_from_the_others()
    {
        await using var nodes = new TestNodes();
        var content = Content((12 * MiB) + 5, 103);
        var (bad, badFolder) = await StartSharingAsync(nodes, "bad", 1, [("f.bin", content)], FrozenIndex);
        var good1 = (await StartSharingAsync(nodes, "good1", 2, [("f.bin", content)])).Node;
        var good2 = (await StartSharingAsync(nodes, "good2", 3, [("f.bin", content)])).Node;

        // One byte changed in every piece of the bad node's copy; its last-write time is put back, so its index keeps the old hashes.
        var path = Path.Combine(badFolder, "f.bin");
        var indexed = File.GetLastWriteTimeUtc(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            for (long offset = 100; offset < content.Length; offset += MiB)
            {
                stream.Position = offset;
                stream.WriteByte((byte)~content[offset]);
            }
        }

        File.SetLastWriteTimeUtc(path, indexed);
        var hash = HashOf(content);
        await using var batch = Batch(Destination(nodes));
        var item = batch.Add(hash, "f.bin", content.Length, bad.Endpoint)!;
        batch.Add(hash, null, null, good1.Endpoint);
        batch.Add(hash, null, null, good2.Endpoint);
        await RunAsync(batch);

        AssertArrived(item, content);
        var failure = Assert.Single(item.SourceFailures);
        Assert.Equal(bad.Endpoint, failure.Key);
        Assert.Contains("bad data", failure.Value);
        Assert.True(bad.TransferCounters.PiecesServed >= 1);
        Assert.Equal(0, bad.TransferCounters.ReadFailures);
        Assert.True(good1.TransferCounters.PiecesServed + good2.TransferCounters.PiecesServed >= 13);
    }

    [Fact]
    public async Task A_file_whose_only_source_sends_bad_data_fails_VerificationFailed_and_never_gets_its_name()
    {
        await using var nodes = new TestNodes();
        var content = Content((3 * MiB) + 5, 104);
        var (node, folder) = await StartSharingAsync(nodes, "bad", 1, [("f.bin", content)], FrozenIndex);
        var path = Path.Combine(folder, "f.bin");
        var indexed = File.GetLastWriteTimeUtc(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.Position = 10;
            stream.WriteByte((byte)~content[10]);
        }

        File.SetLastWriteTimeUtc(path, indexed);
        await using var batch = Batch(Destination(nodes));
        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.Equal(DownloadState.Failed, item.State);
        var error = Assert.IsType<P2PException>(item.Error);
        Assert.Equal(ProtocolError.VerificationFailed, error.Code);
        Assert.Contains(node.Endpoint, error.Message);
        Assert.Contains("bad data", item.SourceFailures[node.Endpoint]);
        Assert.False(File.Exists(item.Destination));
    }

    [Theory]
    [InlineData("cancelled")]
    [InlineData("connection to the source cut")]
    public async Task An_interrupted_download_resumes_and_fetches_only_the_missing_pieces(string interruption)
    {
        await using var nodes = new TestNodes();
        var content = Content((6 * MiB) + 7, 105);
        var first = (await StartSharingAsync(nodes, "first", 1, [("f.bin", content)])).Node;
        var second = (await StartSharingAsync(nodes, "second", 2, [("f.bin", content)])).Node;
        var destination = Destination(nodes);

        // The first source's path passes about 3 MiB and holds the rest, so the download is surely stopped partway
        // (two pieces or more verified, three more to come), however fast or slow the machine.
        await using (var slow = new LatencyProxy("127.0.0.1", first.Endpoint, TimeSpan.FromMilliseconds(10)))
        {
            slow.HoldUpstreamAfter(3 * MiB);
            await using var batch = new DownloadBatch(new DownloadOptions { Destination = destination, MaxBytesPerSecond = 2 * MiB });
            var item = batch.Add(HashOf(content), "f.bin", content.Length, slow.Endpoint)!;
            Assert.True(await Eventually.TrueAsync(() => item.BytesDone >= 2 * MiB, Wait), $"progress: {item.BytesDone}");
            if (interruption == "cancelled")
            {
                batch.Cancel();
            }
            else
            {
                // As a source that dies, or a network that fails, would: the connection ends with a reset.
                await slow.DisposeAsync();
            }

            await RunAsync(batch);
            Assert.True(item.State == (interruption == "cancelled" ? DownloadState.Stopped : DownloadState.Failed), Describe(item));
            Assert.InRange(item.BytesDone, 2 * MiB, content.Length - 1);
        }

        Assert.False(File.Exists(Path.Combine(destination, "f.bin")));
        Assert.True(File.Exists(Path.Combine(destination, "f.bin" + PartialFile.DataSuffix)));
        Assert.True(File.Exists(Path.Combine(destination, "f.bin" + PartialFile.RecordSuffix)));

        await using (var batch = Batch(destination))
        {
            var item = batch.Add(HashOf(content), "f.bin", content.Length, second.Endpoint)!;
            await RunAsync(batch);

            AssertArrived(item, content);
            long resumedPieces = item.BytesResumed / MiB;
            Assert.InRange(resumedPieces, 2, 6);
            Assert.Equal(7 - resumedPieces, second.TransferCounters.PiecesServed);
            Assert.Equal(0, second.TransferCounters.PieceListsServed);
            Assert.Equal(content.LongLength, item.BytesDone);
        }
    }

    [Fact]
    public async Task A_partial_file_fetches_exactly_the_pieces_its_record_does_not_mark()
    {
        await using var nodes = new TestNodes();
        var content = Content((9 * MiB) + 3, 106);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        int[] have = [0, 2, 3, 7, 9];
        WritePartial(Path.Combine(destination, "f.bin"), content, have.Contains);
        await using var batch = Batch(destination);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal((4 * MiB) + 3, item.BytesResumed);
        Assert.Equal(5, node.TransferCounters.PiecesServed);
        Assert.Equal(5L * MiB, node.TransferCounters.BytesServed);
        Assert.Equal(0, node.TransferCounters.PieceListsServed);
    }

    [Fact]
    public async Task A_partial_file_with_every_piece_verified_is_completed_without_fetching_anything()
    {
        await using var nodes = new TestNodes();
        var content = Content((3 * MiB) + 3, 107);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        WritePartial(Path.Combine(destination, "f.bin"), content, _ => true);
        await using var batch = Batch(destination);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(content.LongLength, item.BytesResumed);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
        Assert.Equal(0, node.TransferCounters.PieceListsServed);
    }

    [Fact]
    public async Task A_partial_file_recorded_for_other_content_is_discarded_and_the_file_fetched_whole()
    {
        await using var nodes = new TestNodes();
        var content = Content((3 * MiB) + 3, 108);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        WritePartial(Path.Combine(destination, "f.bin"), content, _ => true, recordHash: HashBytes(Content(10, 109)));
        await using var batch = Batch(destination);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(0, item.BytesResumed);
        Assert.Equal(4, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_partial_record_that_does_not_parse_is_discarded_and_the_file_fetched_whole()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 3, 110);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        Directory.CreateDirectory(destination);
        File.WriteAllBytes(Path.Combine(destination, "f.bin" + PartialFile.DataSuffix), Content(5000, 111));
        File.WriteAllBytes(Path.Combine(destination, "f.bin" + PartialFile.RecordSuffix), Content(77, 112));
        await using var batch = Batch(destination);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(0, item.BytesResumed);
        Assert.Equal(3, node.TransferCounters.PiecesServed);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_flipped_byte_in_a_verified_piece_of_the_partial_file_is_found_on_resume_and_that_piece_fetched_again_without_blaming_the_source(bool sizeKnown)
    {
        await using var nodes = new TestNodes();
        var content = Content((4 * MiB) + 3, 113);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        var final = Path.Combine(destination, "f.bin");
        WritePartial(final, content, piece => piece <= 2);
        using (var stream = new FileStream(final + PartialFile.DataSuffix, FileMode.Open, FileAccess.Write))
        {
            // One byte of piece 1, as a failing disk or a stray write would leave it.
            stream.Position = MiB + 5;
            stream.WriteByte((byte)~content[MiB + 5]);
        }

        var trace = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = destination, Trace = trace.Enqueue });
        var item = batch.Add(HashOf(content), "f.bin", sizeKnown ? content.Length : null, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Empty(item.SourceFailures);
        Assert.Equal(2L * MiB, item.BytesResumed);
        Assert.Equal(3, node.TransferCounters.PiecesServed); // piece 1 again, and pieces 3 and 4
        Assert.Contains(trace, line => line.Contains("1 piece(s) of the partial file from an earlier run no longer match their hash (damaged on this disk, not by a source)"));
    }

    [Fact]
    public async Task A_partial_record_whose_piece_hashes_were_damaged_is_discarded_and_the_file_fetched_whole_without_blaming_the_source()
    {
        await using var nodes = new TestNodes();
        var content = Content((4 * MiB) + 3, 114);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        var final = Path.Combine(destination, "f.bin");
        WritePartial(final, content, piece => piece == 0);
        using (var stream = new FileStream(final + PartialFile.RecordSuffix, FileMode.Open, FileAccess.Write))
        {
            // One byte of piece 2's hash: trusted, it would make the source's good piece 2 look bad.
            stream.Position = RecordHeaderLength + (2 * 32) + 5;
            stream.WriteByte(0x5A);
        }

        var trace = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = destination, Trace = trace.Enqueue });
        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Empty(item.SourceFailures);
        Assert.Equal(0, item.BytesResumed);
        Assert.Equal(5, node.TransferCounters.PiecesServed);
        Assert.Contains(trace, line => line.Contains("cannot be resumed (its piece hashes do not match the piece root it keeps"));
    }

    [Fact]
    public async Task A_verified_piece_that_changes_on_disk_during_the_download_fails_it_as_local_damage_and_the_next_run_fetches_that_piece_again()
    {
        await using var nodes = new TestNodes();
        var content = Content((4 * MiB) + 3, 116);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        var final = Path.Combine(destination, "f.bin");
        WritePartial(final, content, piece => piece <= 2);

        // The download says it resumes once the record's pieces were checked, before it reads them for the
        // whole-file hash: the byte changes in between, as a failing disk would change it.
        void DamageOnceChecked(string line)
        {
            if (line.Contains("resuming, 3 of 5 piece(s)"))
            {
                using var stream = new FileStream(final + PartialFile.DataSuffix, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
                stream.Position = 7;
                stream.WriteByte((byte)~content[7]);
            }
        }

        await using (var batch = new DownloadBatch(new DownloadOptions { Destination = destination, Trace = DamageOnceChecked }))
        {
            var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
            await RunAsync(batch);

            Assert.True(item.State == DownloadState.Failed, Describe(item));
            var error = Assert.IsType<P2PException>(item.Error);
            Assert.Equal(ProtocolError.VerificationFailed, error.Code);
            Assert.Contains("1 piece(s) of", error.Message);
            Assert.Contains("changed on this disk after they were checked (not a source's doing)", error.Message);
            Assert.DoesNotContain("piece list", error.Message);
            Assert.Empty(item.SourceFailures);
            Assert.True(File.Exists(final + PartialFile.RecordSuffix), "the pieces still good are kept");
        }

        await using (var batch = Batch(destination))
        {
            var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
            await RunAsync(batch);

            AssertArrived(item, content);
            Assert.Equal((3L * MiB) + 3, item.BytesResumed); // pieces 1 to 4, the last of 3 bytes
            Assert.Equal(3, node.TransferCounters.PiecesServed); // pieces 3 and 4, then piece 0 again
        }
    }

    [Fact]
    public async Task A_piece_damaged_on_disk_after_it_was_written_is_taken_out_of_the_record_and_the_next_resume_does_not_trust_it()
    {
        var root = Path.Combine(Path.GetTempPath(), "p2pt-damage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var destination = Path.Combine(root, "x.bin");
            var content = Content(3 * MiB, 115);
            using (var partial = PartialFile.Create(destination, content.Length, HashBytes(content), PieceHashes(content)))
            {
                for (int piece = 0; piece < 3; piece++)
                {
                    Assert.True(await partial.WritePieceAsync(piece, content.AsMemory(piece * MiB, MiB), CancellationToken.None));
                }

                using (var stream = new FileStream(destination + PartialFile.DataSuffix, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                {
                    stream.Position = (2 * MiB) + 9;
                    stream.WriteByte((byte)~content[(2 * MiB) + 9]);
                }

                Assert.Equal(1, partial.DropDamagedPieces());
                Assert.False(partial.Verified.Contains(2));
                Assert.Equal(2, partial.Verified.Count);
                Assert.Equal(0, partial.DropDamagedPieces());
            }

            using var resumed = PartialFile.TryResume(destination, content.Length, HashBytes(content))!;
            Assert.True(resumed.Verified.Contains(0) && resumed.Verified.Contains(1));
            Assert.False(resumed.Verified.Contains(2));
            Assert.Equal(0, resumed.DamagedOnResume);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_destination_already_holding_the_content_is_skipped_without_asking_the_source()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 3, 114);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        Directory.CreateDirectory(destination);
        var path = Path.Combine(destination, "f.bin");
        File.WriteAllBytes(path, content);
        var written = File.GetLastWriteTimeUtc(path);
        await using var batch = Batch(destination);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Skipped, Describe(item));
        Assert.Equal(path, item.File!.FullName);
        Assert.Equal(written, File.GetLastWriteTimeUtc(path));
        Assert.Equal(0, node.TransferCounters.PiecesServed + node.TransferCounters.PieceListsServed);
        Assert.Equal(0, node.TransferCounters.UploadsStarted);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_destination_holding_other_content_fails_DestinationExists_and_is_left_alone(int sizeDifference)
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 3, 115);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        Directory.CreateDirectory(destination);
        var path = Path.Combine(destination, "f.bin");
        var other = Content(content.Length + sizeDifference, 116);
        File.WriteAllBytes(path, other);
        await using var batch = Batch(destination);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Failed, Describe(item));
        var error = Assert.IsType<P2PException>(item.Error);
        Assert.Equal(ProtocolError.DestinationExists, error.Code);
        Assert.Contains("-Force", error.Message);
        Assert.Equal(other, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + PartialFile.DataSuffix));
        Assert.Equal(0, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_destination_holding_other_content_is_replaced_with_Force()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 3, 117);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        Directory.CreateDirectory(destination);
        File.WriteAllBytes(Path.Combine(destination, "f.bin"), Content(content.Length, 118));
        await using var batch = Batch(destination, force: true);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(3, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_destination_that_is_a_folder_fails_DestinationExists_even_with_Force()
    {
        await using var nodes = new TestNodes();
        var content = Content(500, 119);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        Directory.CreateDirectory(Path.Combine(destination, "f.bin"));
        await using var batch = Batch(destination, force: true);

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Failed, Describe(item));
        Assert.Equal(ProtocolError.DestinationExists, Assert.IsType<P2PException>(item.Error).Code);
        Assert.True(Directory.Exists(Path.Combine(destination, "f.bin")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_empty_file_arrives_as_an_empty_file_of_its_name_from_a_piece_list_of_no_pieces_without_a_piece_request(bool sizeKnown)
    {
        await using var nodes = new TestNodes();
        byte[] nothing = [];
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [(".gitkeep", nothing), ("full.bin", Content(10, 140))]);
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(nothing), ".gitkeep", sizeKnown ? 0 : null, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, nothing);
        Assert.Equal(1, node.TransferCounters.PieceListsServed);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_download_into_a_shared_folder_never_shares_its_partial_file_or_record_and_the_finished_file_is_shared_once_named()
    {
        await using var nodes = new TestNodes();
        var content = Content((4 * MiB) + 9, 141);
        var (source, _) = await StartSharingAsync(nodes, "server", 1, [("big.bin", content)]);
        var (downloader, folder) = await StartSharingAsync(nodes, "downloader", 3, [("readme.txt", Content(10, 142))]);
        var index = downloader.Index;
        var target = Path.Combine(folder, "big.bin");
        // big.bin.p2ppart and big.bin.p2ppart.pieces
        static bool IsPartial(SharedFile file) => file.Name.StartsWith("big.bin.", StringComparison.Ordinal);

        // Held after the first piece: the partial file and its record are made before any piece is requested, and
        // the file cannot be finished while the rest is held.
        await using (var gate = new LatencyProxy("127.0.0.2", source.Endpoint, TimeSpan.Zero))
        await using (var held = Batch(folder, stall: TimeSpan.FromMinutes(5)))
        {
            gate.HoldUpstreamAfter(MiB);
            held.Add(HashOf(content), "big.bin", content.Length, gate.Endpoint);
            await gate.Holding.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(File.Exists(target + PartialFile.DataSuffix));
            Assert.True(File.Exists(target + PartialFile.RecordSuffix));

            // The watcher has looked at every change made before the marker once the marker is listed; then a full
            // scan looks again.
            var marker = Path.Combine(folder, "marker.txt");
            File.WriteAllText(marker, "written last");
            Assert.True(await Eventually.TrueAsync(() => index.GetFiles().Any(f => f.FullName == marker), TimeSpan.FromSeconds(10)));
            await TestShare.IdleAsync(index);
            Assert.DoesNotContain(index.GetFiles(), IsPartial);
            await index.ReconcileAsync();
            await TestShare.IdleAsync(index);
            Assert.DoesNotContain(index.GetFiles(), IsPartial);
            Assert.Empty(index.Search(new FileQuery { Names = ["big.bin*"] }));
            Assert.True(File.Exists(target + PartialFile.DataSuffix), "the partial file was there all along");
            Assert.True(File.Exists(target + PartialFile.RecordSuffix), "the record was there all along");
        }

        // Stopped, its partial file kept; finished straight from the source, which renames the partial file to its name.
        await using (var batch = Batch(folder))
        {
            var item = batch.Add(HashOf(content), "big.bin", content.Length, source.Endpoint)!;
            await RunAsync(batch);
            AssertArrived(item, content);
        }

        // The watcher sees the rename: the finished file is shared under its name.
        Assert.True(await Eventually.TrueAsync(() => index.GetFiles().Any(f => f.Name == "big.bin" && f.State == SharedFileState.Ready), TimeSpan.FromSeconds(10)));
        await TestShare.IdleAsync(index);
        var shared = Assert.Single(index.GetFiles(), f => f.Name == "big.bin");
        Assert.Equal(HashOf(content), shared.Hash);
        Assert.Single(index.Search(new FileQuery { Names = ["big.bin*"] }));
        Assert.DoesNotContain(index.GetFiles(), IsPartial);
    }

    [Fact]
    public async Task One_content_under_two_names_arrives_under_both_names_and_every_source_serves_both()
    {
        await using var nodes = new TestNodes();
        byte[] nothing = [];
        var (gitkeep, _) = await StartSharingAsync(nodes, "logs", 1, [(".gitkeep", nothing)]);
        var (package, _) = await StartSharingAsync(nodes, "pkg", 2, [("__init__.py", nothing)]);
        await using var batch = Batch(Destination(nodes));

        var first = batch.Add(HashOf(nothing), ".gitkeep", 0, gitkeep.Endpoint);
        var second = batch.Add(HashOf(nothing), "__init__.py", 0, package.Endpoint);
        Assert.Null(batch.Add(HashOf(nothing), ".gitkeep", 0, package.Endpoint));
        Assert.True(batch.Contains(HashOf(nothing), "__init__.py"));
        Assert.False(batch.Contains(HashOf(nothing), "marker"));
        await RunAsync(batch);

        Assert.NotNull(first);
        Assert.NotNull(second);
        AssertArrived(first, nothing);
        AssertArrived(second, nothing);
        Assert.Equal([gitkeep.Endpoint, package.Endpoint], first.Sources.Order());
        Assert.Equal([gitkeep.Endpoint, package.Endpoint], second.Sources.Order());
        Assert.Equal([first, second], batch.Items);
    }

    [Fact]
    public async Task One_multi_piece_content_under_two_names_is_fetched_once_and_both_files_arrive_verified()
    {
        await using var nodes = new TestNodes();
        var content = Content((3 * MiB) + 77, 35);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("ubuntu.iso", content)]);
        await using var batch = Batch(Destination(nodes));

        var first = batch.Add(HashOf(content), "ubuntu.iso", content.Length, node.Endpoint)!;
        var second = batch.Add(HashOf(content), "ubuntu-24.04.iso", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(first, content);
        AssertArrived(second, content);
        Assert.Equal(content.LongLength, first.BytesDone);
        Assert.Equal(content.LongLength, second.BytesDone);
        Assert.Equal(4, node.TransferCounters.PiecesServed);
        Assert.Equal(content.LongLength, node.TransferCounters.BytesServed);
    }

    [Fact]
    public async Task When_the_first_name_of_a_content_fails_the_next_name_downloads_it_from_the_sources()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 5, 36);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("data.bin", content)]);
        var destination = Destination(nodes);
        // The first name's place is taken by a folder: it fails DestinationExists, the second fetches the content.
        Directory.CreateDirectory(Path.Combine(destination, "taken.bin"));
        await using var batch = Batch(destination);

        var first = batch.Add(HashOf(content), "taken.bin", content.Length, node.Endpoint)!;
        var second = batch.Add(HashOf(content), "data.bin", content.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.True(first.State == DownloadState.Failed, Describe(first));
        AssertArrived(second, content);
        Assert.Equal(3, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task Concurrent_adds_of_different_contents_under_one_name_let_exactly_one_through()
    {
        await using var nodes = new TestNodes();
        using var stop = new CancellationTokenSource();
        for (int round = 0; round < 50; round++)
        {
            await using var batch = Batch(Destination(nodes, $"race-{round}"), cancellationToken: stop.Token);
            stop.Cancel();
            const int contenders = 8;
            using var start = new Barrier(contenders);
            var outcomes = await Task.WhenAll(Enumerable.Range(0, contenders).Select(i => Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait(TimeSpan.FromSeconds(30));
                    try
                    {
                        return batch.Add(HashOf(Content(10, (byte)(40 + i))), "same.bin", 10, "127.0.0.1:9") is not null;
                    }
                    catch (ArgumentException)
                    {
                        return false;
                    }
                },
                TaskCreationOptions.LongRunning)));

            Assert.Equal(1, outcomes.Count(added => added));
            Assert.Single(batch.Items);
        }
    }

    [Fact]
    public async Task An_empty_file_already_at_the_destination_is_skipped_and_a_named_pipe_there_is_never_opened_and_replaced_only_with_Force()
    {
        await using var nodes = new TestNodes();
        byte[] nothing = [];
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("marker", nothing)]);
        var destination = Destination(nodes);
        Directory.CreateDirectory(destination);
        File.WriteAllBytes(Path.Combine(destination, "marker"), nothing);
        await using (var batch = Batch(destination))
        {
            var skipped = batch.Add(HashOf(nothing), "marker", 0, node.Endpoint)!;
            await RunAsync(batch);
            Assert.True(skipped.State == DownloadState.Skipped, Describe(skipped));
        }

        Assert.Equal(0, node.TransferCounters.UploadsStarted);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var pipe = Path.Combine(destination, "pipe");
        using (var mkfifo = Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        foreach (var force in new[] { false, true })
        {
            await using var batch = Batch(destination, force);
            var item = batch.Add(HashOf(nothing), "pipe", 0, node.Endpoint)!;
            try
            {
                // Opening the pipe to compare its content would wait for a writer for ever.
                await RunAsync(batch);
            }
            catch (TimeoutException)
            {
                // Release a reader stuck on the pipe, so that the batch can be closed and the test ends.
                _ = Task.Run(() => new FileStream(pipe, FileMode.Open, FileAccess.Write).Dispose());
                throw;
            }

            if (force)
            {
                AssertArrived(item, nothing);
            }
            else
            {
                Assert.True(item.State == DownloadState.Failed, Describe(item));
                var error = Assert.IsType<P2PException>(item.Error);
                Assert.Equal(ProtocolError.DestinationExists, error.Code);
                Assert.Contains("not a regular file", error.Message);
                Assert.False(P2PTransfer.Index.RegularFile.Is(pipe), "the pipe is left as it was");
            }
        }
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("/etc/passwd")]
    [InlineData("..\\..\\x")]
    [InlineData("c:x")]
    [InlineData("nul\0.txt")]
    [InlineData("   ")]
    [InlineData("x.p2ppart")]
    [InlineData("x.P2PPART.pieces")]
    [InlineData("\u202Egnp.exe")]
    [InlineData("invoice\u200B.pdf")]
    [InlineData("\uFEFFreadme.txt")]
    [InlineData("a\u2066b")]
    public async Task An_unsafe_file_name_is_refused_by_Add_with_ArgumentException_and_nothing_is_written(string name)
    {
        await using var nodes = new TestNodes();
        var destination = Destination(nodes);
        await using var batch = Batch(destination);
        Directory.CreateDirectory(nodes.Root);
        var before = Directory.GetFileSystemEntries(nodes.Root, "*", SearchOption.AllDirectories);

        Assert.Throws<ArgumentException>(() => batch.Add(new string('A', 64), name, 10, "127.0.0.1:1"));

        Assert.Empty(batch.Items);
        await RunAsync(batch);
        Assert.Equal(before, Directory.GetFileSystemEntries(nodes.Root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_name_longer_than_255_bytes_is_refused_and_no_name_means_the_hash_is_the_name()
    {
        await using var nodes = new TestNodes();
        var content = Content(700, 120);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        var destination = Destination(nodes);
        await using var batch = Batch(destination);

        Assert.Throws<ArgumentException>(() => batch.Add(new string('B', 64), new string('é', 128), 10, node.Endpoint));
        var item = batch.Add(HashOf(content).ToLowerInvariant(), null, content.Length, node.Endpoint)!;
        await RunAsync(batch);

        Assert.Equal(HashOf(content), item.Name);
        Assert.Equal(Path.Combine(destination, HashOf(content)), item.Destination);
        AssertArrived(item, content);
    }

    [Fact]
    public async Task Add_refuses_a_malformed_hash_a_malformed_source_and_two_contents_with_one_name()
    {
        await using var nodes = new TestNodes();
        await using var batch = Batch(Destination(nodes));

        Assert.Throws<ArgumentException>(() => batch.Add("not-a-hash", "x", 1, "127.0.0.1:1"));
        Assert.Throws<ArgumentException>(() => batch.Add(new string('G', 64), "x", 1, "127.0.0.1:1"));
        Assert.Throws<ArgumentException>(() => batch.Add(new string('A', 63), "x", 1, "127.0.0.1:1"));
        Assert.Throws<ArgumentException>(() => batch.Add(new string('A', 64), "x", -1, "127.0.0.1:1"));
        Assert.Throws<ArgumentException>(() => batch.Add(new string('A', 64), "x", 1, ""));
        var badPort = Record.Exception(() => batch.Add(new string('A', 64), "x", 1, "127.0.0.1:99999"));
        Assert.True(badPort is ArgumentException or FormatException, $"a malformed source: {badPort?.GetType().Name ?? "no exception"}");
        Assert.Empty(batch.Items);

        Assert.NotNull(batch.Add(new string('A', 64), "same.bin", 1, "127.0.0.1:1"));
        Assert.Throws<ArgumentException>(() => batch.Add(new string('B', 64), "same.bin", 1, "127.0.0.1:1"));
        Assert.Single(batch.Items);
        batch.Cancel();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(MiB - 1)]
    [InlineData(MiB)]
    public async Task A_single_piece_file_of_known_size_downloads_without_a_piece_list_request(int size)
    {
        await using var nodes = new TestNodes();
        var content = Content(size, 121);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("one.bin", content)]);
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(content), "one.bin", size, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(0, node.TransferCounters.PieceListsServed);
        Assert.Equal(1, node.TransferCounters.PiecesServed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(MiB)]
    [InlineData(MiB + 1)]
    [InlineData(2 * MiB)]
    public async Task A_file_at_a_piece_boundary_of_unknown_size_asks_for_the_list_once_and_arrives_intact(int size)
    {
        await using var nodes = new TestNodes();
        var content = Content(size, 122);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("edge.bin", content)]);
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(content), "edge.bin", null, node.Endpoint)!;
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(1, node.TransferCounters.PieceListsServed);
        Assert.Equal(TransferLimits.PieceCount(size), node.TransferCounters.PiecesServed);
    }

    [Theory]
    [InlineData(3000, 5000)]
    [InlineData(3000, (3 * MiB) + 1)]
    [InlineData((3 * MiB) + 1, 3000)]
    [InlineData((3 * MiB) + 1, (3 * MiB) + 2)]
    public async Task A_size_from_the_search_that_the_source_contradicts_fails_VerificationFailed_and_writes_no_file(int actual, int announced)
    {
        await using var nodes = new TestNodes();
        var content = Content(actual, 134);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)]);
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(content), "f.bin", announced, node.Endpoint)!;
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Failed, Describe(item));
        Assert.Equal(ProtocolError.VerificationFailed, Assert.IsType<P2PException>(item.Error).Code);
        Assert.True(item.SourceFailures.ContainsKey(node.Endpoint));
        Assert.False(File.Exists(item.Destination));
    }

    [Fact]
    public async Task Two_hundred_small_files_in_one_batch_all_arrive_over_one_connection()
    {
        await using var nodes = new TestNodes();
        var files = Enumerable.Range(0, 200).Select(i => ($"file-{i:000}.dat", Content(1 + ((i * 7919) % 20_000), 1000 + i))).ToList();
        var (node, _) = await StartSharingAsync(nodes, "server", 1, files);
        await using var batch = Batch(Destination(nodes));
        var clock = Stopwatch.StartNew();

        var items = files.Select(f => batch.Add(HashOf(f.Item2), f.Item1, f.Item2.Length, node.Endpoint)!).ToList();
        await RunAsync(batch);

        for (int i = 0; i < files.Count; i++)
        {
            AssertArrived(items[i], files[i].Item2);
        }

        int finished = 0;
        while (batch.TryTakeFinished(out _) && finished <= files.Count)
        {
            finished++;
        }

        Assert.Equal(200, finished);
        Assert.Equal(200, node.TransferCounters.PiecesServed);
        Assert.Equal(0, node.TransferCounters.PieceListsServed);
        Assert.Equal(1, node.TransferCounters.UploadsStarted);
        Assert.Equal(Enumerable.Range(1, 200), batch.Items.Select(i => i.Number));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"200 small files took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_source_that_does_not_share_the_content_and_one_that_cannot_be_reached_are_dropped_and_the_others_complete_it()
    {
        await using var nodes = new TestNodes();
        var content = Content((3 * MiB) + 3, 123);
        var good = (await StartSharingAsync(nodes, "good", 1, [("f.bin", content)])).Node;
        var stranger = (await StartSharingAsync(nodes, "stranger", 2, [("other.bin", Content(100, 124))])).Node;
        var closedPort = ClosedPort();
        var hash = HashOf(content);

        // The good source is slow and the download paced (about 2 s), so the others are surely tried while it works.
        await using var slow = new LatencyProxy("127.0.0.1", good.Endpoint, TimeSpan.FromMilliseconds(10));
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes), MaxBytesPerSecond = 2 * MiB });
        var item = batch.Add(hash, "f.bin", null, slow.Endpoint)!;
        batch.Add(hash, null, null, stranger.Endpoint);
        batch.Add(hash, null, null, closedPort);
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Equal(2, item.SourceFailures.Count);
        Assert.Contains("shares no file", item.SourceFailures[stranger.Endpoint]);
        Assert.True(item.SourceFailures.ContainsKey(closedPort));
        Assert.Equal(4, good.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_file_no_source_shares_fails_with_UnknownFile_naming_every_source()
    {
        await using var nodes = new TestNodes();
        var first = (await StartSharingAsync(nodes, "a", 1, [("a.bin", Content(100, 125))])).Node;
        var second = (await StartSharingAsync(nodes, "b", 2, [("b.bin", Content(100, 126))])).Node;
        var missing = Content((2 * MiB) + 1, 127);
        var hash = HashOf(missing);
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes), ThrottleLimit = 1 });
        await using var blocker = await QueueBehindASlowDownloadAsync(nodes, batch);

        var item = batch.Add(hash, "m.bin", null, first.Endpoint)!;
        batch.Add(hash, null, null, second.Endpoint);
        Assert.Equal(DownloadState.Queued, item.State);
        await RunAsync(batch);

        Assert.True(item.State == DownloadState.Failed, Describe(item));
        var error = Assert.IsType<P2PException>(item.Error);
        Assert.Equal(ProtocolError.UnknownFile, error.Code);
        Assert.Contains(first.Endpoint, error.Message);
        Assert.Contains(second.Endpoint, error.Message);
        Assert.False(File.Exists(item.Destination));
        Assert.False(File.Exists(item.Destination + PartialFile.DataSuffix));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData((2 * MiB) + 3)]
    public async Task A_busy_source_is_asked_again_and_the_file_arrives_once_a_slot_frees(int size)
    {
        await using var nodes = new TestNodes();
        var content = Content(size, 128);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("f.bin", content)], o => o.MaxUploads = 1);
        var holder = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await holder.SendAsync(new PieceListRequest(1, HashBytes(content), 0));
        Assert.IsType<PieceList>(await ReplyAsync(holder, 1));
        await using var batch = Batch(Destination(nodes));

        var item = batch.Add(HashOf(content), "f.bin", content.Length, node.Endpoint)!;
        Assert.True(await Eventually.TrueAsync(() => node.TransferCounters.UploadsRefusedBusy >= 1, Wait));
        Assert.True(item.State == DownloadState.Transferring, Describe(item));
        holder.Dispose();
        await RunAsync(batch, TimeSpan.FromSeconds(5));

        AssertArrived(item, content);
        Assert.Empty(item.SourceFailures);
        Assert.Equal(TransferLimits.PieceCount(size), node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_source_that_goes_silent_does_not_hold_up_the_last_pieces_the_others_take_them_in_the_end_game()
    {
        await using var nodes = new TestNodes();
        var content = Content((10 * MiB) + 3, 129);
        var good = (await StartSharingAsync(nodes, "good", 1, [("f.bin", content)])).Node;
        var silent = (await StartSharingAsync(nodes, "silent", 2, [("f.bin", content)])).Node;
        await using var proxy = WelcomingRelay.Silent(silent.Endpoint);

        // The good source is slow (about 2 s for the file), so the silent one surely takes pieces before the good one is done.
        await using var slow = new LatencyProxy("127.0.0.1", good.Endpoint, TimeSpan.FromMilliseconds(10));
        await using var batch = Batch(Destination(nodes));
        var clock = Stopwatch.StartNew();

        var hash = HashOf(content);
        var item = batch.Add(hash, "f.bin", content.Length, slow.Endpoint)!;
        batch.Add(hash, null, null, proxy.Endpoint);
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"the file took {clock.Elapsed}: it waited on the silent source (stall timeout {TransferLimits.StallTimeout})");
        Assert.True(silent.TransferCounters.PiecesServed >= 1, "the silent source was asked for pieces");
        Assert.Equal(11, good.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_silent_only_source_of_a_one_piece_file_is_dropped_after_the_stall_timeout()
    {
        await using var nodes = new TestNodes();
        var content = Content(5000, 130);
        var silent = (await StartSharingAsync(nodes, "silent", 1, [("f.bin", content)])).Node;
        await using var proxy = WelcomingRelay.Silent(silent.Endpoint);
        await using var batch = Batch(Destination(nodes), stall: TimeSpan.FromSeconds(1));

        var item = batch.Add(HashOf(content), "f.bin", content.Length, proxy.Endpoint)!;

        // Dropped after 1 s; the batch then ends once the connection is let go, which a source that reads nothing
        // holds for the closing linger (2 s to flush, 2 s to read: protocol.md section 5), so about 5 s in all.
        await RunAsync(batch, TimeSpan.FromSeconds(20));

        Assert.True(item.State == DownloadState.Failed, Describe(item));
        Assert.Contains("delivered nothing", item.SourceFailures[proxy.Endpoint]);
        Assert.False(File.Exists(item.Destination + PartialFile.DataSuffix), "nothing to resume within one piece: no partial file is left");
    }

    [Fact]
    public async Task A_source_that_goes_silent_before_answering_the_piece_list_is_dropped_after_the_stall_timeout_and_the_next_source_used()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 3, 131);
        var silent = (await StartSharingAsync(nodes, "silent", 1, [("f.bin", content)])).Node;
        var good = (await StartSharingAsync(nodes, "good", 2, [("f.bin", content)])).Node;
        await using var proxy = WelcomingRelay.Silent(silent.Endpoint);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await using var batch = Batch(Destination(nodes), stall: TimeSpan.FromSeconds(1), cancellationToken: stop.Token);

        var hash = HashOf(content);
        var item = batch.Add(hash, "f.bin", content.Length, proxy.Endpoint)!;
        batch.Add(hash, null, null, good.Endpoint);
        await RunAsync(batch, TimeSpan.FromSeconds(20));

        Assert.True(item.State == DownloadState.Completed, $"{Describe(item)}; piece lists served by the good source: {good.TransferCounters.PieceListsServed}");
        Assert.Contains("delivered nothing", item.SourceFailures[proxy.Endpoint]);
    }

    [Fact]
    public async Task A_source_that_joins_while_another_is_asked_for_the_piece_list_is_asked_in_turn()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 3, 132);
        var hash = HashOf(content);
        var stranger = (await StartSharingAsync(nodes, "stranger", 1, [("other.bin", Content(100, 133))])).Node;
        var good = (await StartSharingAsync(nodes, "good", 2, [("f.bin", content)])).Node;

        // The first source does not have the file; its answer is held on the way (past its Welcome) until the second
        // has joined, so the second joins while the first is being asked, however slow the machine.
        await using var slow = WelcomingRelay.Held(stranger.Endpoint);
        await using var batch = Batch(Destination(nodes));
        var item = batch.Add(hash, "f.bin", content.Length, slow.Endpoint)!;
        Assert.True(await Eventually.TrueAsync(() => stranger.TransferCounters.RequestsRefused == 1, Wait), "the first source was never asked");
        Assert.Null(batch.Add(hash, null, null, good.Endpoint));
        slow.Release();
        await RunAsync(batch);

        AssertArrived(item, content);
        Assert.Contains("shares no file", item.SourceFailures[slow.Endpoint]);
        Assert.Equal(1, good.TransferCounters.PieceListsServed);
    }

    /// <summary>
    /// Fills a batch of ThrottleLimit 1 with a download that takes about half a second (a one-piece file behind a
    /// slow path), so that the items added next wait, Queued, with all their sources known when they start.
    /// </summary>
    private static async Task<LatencyProxy> QueueBehindASlowDownloadAsync(TestNodes nodes, DownloadBatch batch)
    {
        var content = Content(100, 199);
        var node = (await StartSharingAsync(nodes, "blocker", 9, [("blocker.bin", content)])).Node;
        var slow = new LatencyProxy("127.0.0.1", node.Endpoint, TimeSpan.FromMilliseconds(100));
        var blocker = batch.Add(HashOf(content), "blocker.bin", content.Length, slow.Endpoint)!;
        Assert.True(await Eventually.TrueAsync(() => blocker.State == DownloadState.Transferring, Wait));
        return slow;
    }

    private static string ClosedPort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return socket.LocalEndPoint!.ToString()!;
    }
}
