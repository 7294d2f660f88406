using System.Buffers.Binary;
using P2PTransfer.Client;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// The server side of transfers facing a hostile or careless downloader speaking raw frames: it serves only
/// what it shares, hashed and unchanged, by hash; it refuses everything else with the right reason and one frame;
/// it keeps its slots and goes on serving everyone else.
/// </summary>
public class UploadTests
{
    [Fact]
    public async Task An_unknown_hash_is_refused_UnknownFile_and_the_connection_stays_open()
    {
        await using var nodes = new TestNodes();
        var content = Content(3000, 1);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("known.bin", content)]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var unknown = Content(3000, 2);

        await raw.SendAsync(new PieceListRequest(1, HashBytes(unknown), 0));
        await raw.SendAsync(new PieceRequest(2, HashBytes(unknown), 0));
        await raw.SendAsync(new PieceRequest(3, HashBytes(content), 0));

        var refused = Refused(await ReplyAsync(raw, 1), ProtocolError.UnknownFile);
        Assert.Contains(HashOf(unknown), refused.Message);
        Refused(await ReplyAsync(raw, 2), ProtocolError.UnknownFile);
        var data = Assert.IsType<PieceData>(await ReplyAsync(raw, 3));
        Assert.Equal(0u, data.Piece);
        Assert.True(data.Data.Span.SequenceEqual(content));
        Assert.Equal(2, node.TransferCounters.RequestsRefused);
        Assert.Equal(1, node.TransferCounters.PiecesServed);
        Assert.Equal(3000, node.TransferCounters.BytesServed);
        Assert.Equal(0, node.TransferCounters.UploadsRefusedBusy);
        Assert.Equal(0, node.Counters.ProtocolErrors);
    }

    [Fact]
    public async Task A_piece_at_or_beyond_the_piece_count_is_refused_PieceOutOfRange()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 10, 3);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("three-pieces.bin", content)]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var hash = HashBytes(content);

        await raw.SendAsync(new PieceRequest(1, hash, 3));
        await raw.SendAsync(new PieceRequest(2, hash, uint.MaxValue));
        await raw.SendAsync(new PieceRequest(3, hash, (uint)int.MaxValue + 1));
        await raw.SendAsync(new PieceRequest(4, hash, 2));

        var refused = Refused(await ReplyAsync(raw, 1), ProtocolError.PieceOutOfRange);
        Assert.Contains("3 piece(s)", refused.Message);
        Refused(await ReplyAsync(raw, 2), ProtocolError.PieceOutOfRange);
        Refused(await ReplyAsync(raw, 3), ProtocolError.PieceOutOfRange);
        var last = Assert.IsType<PieceData>(await ReplyAsync(raw, 4));
        Assert.True(last.Data.Span.SequenceEqual(content.AsSpan(2 * MiB)));
        Assert.Equal(3, node.TransferCounters.RequestsRefused);
        Assert.Equal(1, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_piece_list_request_starting_beyond_the_piece_count_is_refused_and_one_at_the_count_gets_an_empty_list()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 10, 4);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("three-pieces.bin", content)]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var hash = HashBytes(content);

        await raw.SendAsync(new PieceListRequest(1, hash, 4));
        await raw.SendAsync(new PieceListRequest(2, hash, uint.MaxValue));
        await raw.SendAsync(new PieceListRequest(3, hash, 3));
        await raw.SendAsync(new PieceListRequest(4, hash, 1));
        await raw.SendAsync(new PieceListRequest(5, hash, 0));

        Refused(await ReplyAsync(raw, 1), ProtocolError.PieceOutOfRange);
        Refused(await ReplyAsync(raw, 2), ProtocolError.PieceOutOfRange);
        var empty = Assert.IsType<PieceList>(await ReplyAsync(raw, 3));
        Assert.Equal((content.LongLength, 3u, 0), (empty.Size, empty.FirstPiece, empty.Count));
        var tail = Assert.IsType<PieceList>(await ReplyAsync(raw, 4));
        Assert.Equal((content.LongLength, 1u, 2), (tail.Size, tail.FirstPiece, tail.Count));
        Assert.Equal(PieceHashes(content)[32..], tail.Hashes);
        var whole = Assert.IsType<PieceList>(await ReplyAsync(raw, 5));
        Assert.Equal(PieceHashes(content), whole.Hashes);
        Assert.Equal(2, node.TransferCounters.RequestsRefused);
        Assert.Equal(3, node.TransferCounters.PieceListsServed);
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_each_with_exactly_one_frame_carrying_its_id()
    {
        await using var nodes = new TestNodes();
        var content = Content(MiB + 77, 5);
        var small = Content(500, 6);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("two-pieces.bin", content), ("small.bin", small)]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var hash = HashBytes(content);

        IMessage[] requests =
        [
            new PieceListRequest(10, hash, 0),
            new PieceRequest(11, hash, 1),
            new PieceRequest(12, hash, 2),
            new PieceRequest(13, HashBytes(Content(10, 7)), 0),
            new PieceRequest(14, HashBytes(small), 0),
            new PieceListRequest(15, HashBytes(small), 0),
        ];
        await raw.SendAsync(requests.SelectMany(FrameCodec.ToArray).ToArray());
        var replies = await TransferRepliesAsync(raw, requests.Length);

        Assert.Equal([10u, 11u, 12u, 13u, 14u, 15u], replies.Select(r => RequestIdOf(r)!.Value));
        Assert.Equal(PieceHashes(content), Assert.IsType<PieceList>(replies[0]).Hashes);
        Assert.True(Assert.IsType<PieceData>(replies[1]).Data.Span.SequenceEqual(content.AsSpan(MiB)));
        Refused(replies[2], ProtocolError.PieceOutOfRange);
        Refused(replies[3], ProtocolError.UnknownFile);
        Assert.True(Assert.IsType<PieceData>(replies[4]).Data.Span.SequenceEqual(small));
        var list = Assert.IsType<PieceList>(replies[5]);
        Assert.Equal(HashBytes(small), list.Hashes);
        Assert.Equal(1, node.TransferCounters.UploadsStarted);
    }

    [Fact]
    public async Task A_downloader_that_pipelines_600_refused_requests_and_reads_gets_every_refusal()
    {
        await using var nodes = new TestNodes();
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("known.bin", Content(3000, 1))]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var unknown = HashBytes(Content(3000, 2));

        // Written at once, far more than the 256-frame send queue holds.
        const int Requests = 600;
        await raw.SendAsync(Enumerable.Range(1, Requests).SelectMany(id => FrameCodec.ToArray(new PieceListRequest((uint)id, unknown, 0))).ToArray());
        await raw.SendAsync(new Ping(600));

        var answered = new List<uint>();
        IMessage? other = null;
        bool open = await raw.ReadEachAsync(
            frame =>
            {
                if (frame is TransferRefused { Reason: ProtocolError.UnknownFile } refused)
                {
                    answered.Add(refused.RequestId);
                }
                else if (frame is not (Pong or Welcome))
                {
                    other ??= frame;
                }

                return frame is not Pong && other is null;
            },
            TimeSpan.FromSeconds(30));

        Assert.True(open && other is null, $"after {answered.Count} refusals: {other}");
        Assert.Equal(Enumerable.Range(1, Requests).Select(id => (uint)id), answered);
    }

    [Fact]
    public async Task More_downloaders_than_MaxUploads_are_refused_NodeBusy_and_counted_until_a_slot_frees()
    {
        await using var nodes = new TestNodes();
        var content = Content(2000, 8);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("file.bin", content)], o => o.MaxUploads = 2);
        var hash = HashBytes(content);
        var first = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        using var second = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        using var third = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await using var client = await NodeClient.ConnectAsync(node.Endpoint);

        await first.SendAsync(new PieceRequest(1, hash, 0));
        Assert.IsType<PieceData>(await ReplyAsync(first, 1));
        await first.SendAsync(new PieceListRequest(2, hash, 0));
        Assert.IsType<PieceList>(await ReplyAsync(first, 2));
        await second.SendAsync(new PieceRequest(1, hash, 0));
        Assert.IsType<PieceData>(await ReplyAsync(second, 1));
        await third.SendAsync(new PieceRequest(1, hash, 0));
        var refused = Refused(await ReplyAsync(third, 1), ProtocolError.NodeBusy);
        var busy = await Assert.ThrowsAsync<NodeUnavailableException>(() => client.GetPieceAsync(hash, 0, CancellationToken.None));

        Assert.Contains("2 downloader(s)", refused.Message);
        Assert.Equal(ProtocolError.NodeBusy, busy.Code);
        Assert.Equal(2, node.TransferCounters.UploadsStarted);
        Assert.Equal(2, node.TransferCounters.UploadsActive);
        Assert.Equal(2, node.TransferCounters.UploadsRefusedBusy);
        Assert.Equal(0, node.TransferCounters.RequestsRefused);

        // A downloader that leaves gives its slot back at once; the next one asking gets it.
        first.Dispose();
        Assert.True(await Eventually.TrueAsync(() => node.TransferCounters.UploadsActive == 1, Wait));
        await third.SendAsync(new PieceRequest(2, hash, 0));
        Assert.True(Assert.IsType<PieceData>(await ReplyAsync(third, 2)).Data.Span.SequenceEqual(content));
        await Assert.ThrowsAsync<NodeUnavailableException>(() => client.GetPieceAsync(hash, 0, CancellationToken.None));
        Assert.Equal(3, node.TransferCounters.UploadsStarted);
        Assert.Equal(3, node.TransferCounters.UploadsRefusedBusy);
    }

    [Fact]
    public async Task A_file_changed_on_disk_after_indexing_is_refused_FileChanged_and_never_served()
    {
        await using var nodes = new TestNodes();
        var content = Content(5000, 9);
        var (node, folder) = await StartSharingAsync(nodes, "server", 1, [("doc.bin", content)], FrozenIndex);
        var path = Path.Combine(folder, "doc.bin");
        var indexed = File.GetLastWriteTimeUtc(path);
        File.WriteAllBytes(path, Content(5000, 10));
        File.SetLastWriteTimeUtc(path, indexed.AddMinutes(5));
        Assert.Equal(HashOf(content), Assert.Single(node.Index.GetFiles()).Hash);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await using var client = await NodeClient.ConnectAsync(node.Endpoint);

        await raw.SendAsync(new PieceListRequest(1, HashBytes(content), 0));
        await raw.SendAsync(new PieceRequest(2, HashBytes(content), 0));
        var refused = Refused(await ReplyAsync(raw, 1), ProtocolError.FileChanged);
        Refused(await ReplyAsync(raw, 2), ProtocolError.FileChanged);
        var error = await Assert.ThrowsAsync<P2PException>(() => client.GetPieceAsync(HashBytes(content), 0, CancellationToken.None));

        Assert.Equal(ProtocolError.FileChanged, error.Code);
        Assert.Contains(HashOf(content), refused.Message);
        Assert.DoesNotContain(path, refused.Message);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
        Assert.Equal(0, node.TransferCounters.BytesServed);
        Assert.Equal(0, node.TransferCounters.PieceListsServed);
        Assert.Equal(3, node.TransferCounters.RequestsRefused);
    }

    [Fact]
    public async Task An_empty_file_is_listed_with_no_pieces_and_a_named_pipe_put_in_its_place_is_refused_FileChanged_without_being_opened()
    {
        await using var nodes = new TestNodes();
        byte[] nothing = [];
        var (node, folder) = await StartSharingAsync(nodes, "server", 1, [("__init__.py", nothing)], FrozenIndex);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new PieceListRequest(1, HashBytes(nothing), 0));
        await raw.SendAsync(new PieceRequest(2, HashBytes(nothing), 0));
        var list = Assert.IsType<PieceList>(await ReplyAsync(raw, 1));
        Assert.Equal((0L, 0u, 0), (list.Size, list.FirstPiece, list.Count));
        Refused(await ReplyAsync(raw, 2), ProtocolError.PieceOutOfRange);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var path = Path.Combine(folder, "__init__.py");
        File.Delete(path);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", path))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // A new connection opens the file afresh (the first one keeps the file it opened).
        using var again = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await again.SendAsync(new PieceListRequest(3, HashBytes(nothing), 0));
        try
        {
            // Opening the pipe to serve it would wait for a writer for ever: no answer would come.
            Refused(await ReplyAsync(again, 3), ProtocolError.FileChanged);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // Release a reader stuck on the pipe, so that the node can be stopped and the test ends.
            _ = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Write).Dispose());
            throw;
        }

        Assert.Equal(1, node.TransferCounters.PieceListsServed);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_file_touched_after_indexing_is_refused_FileChanged_even_with_the_same_bytes()
    {
        await using var nodes = new TestNodes();
        var content = Content(5000, 11);
        var (node, folder) = await StartSharingAsync(nodes, "server", 1, [("doc.bin", content)], FrozenIndex);
        var path = Path.Combine(folder, "doc.bin");
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddTicks(1));
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new PieceRequest(1, HashBytes(content), 0));

        Refused(await ReplyAsync(raw, 1), ProtocolError.FileChanged);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_file_that_shrinks_while_being_served_is_sent_as_zeros_and_counted_as_a_read_failure()
    {
        await using var nodes = new TestNodes();
        var content = Content((2 * MiB) + 100, 12);
        var (node, folder) = await StartSharingAsync(nodes, "server", 1, [("shrinks.bin", content)], FrozenIndex);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        var hash = HashBytes(content);

        await raw.SendAsync(new PieceRequest(1, hash, 2));
        Assert.True(Assert.IsType<PieceData>(await ReplyAsync(raw, 1)).Data.Span.SequenceEqual(content.AsSpan(2 * MiB)));
        using (var stream = new FileStream(Path.Combine(folder, "shrinks.bin"), FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.SetLength(MiB + 50);
        }

        await raw.SendAsync(new PieceRequest(2, hash, 2));
        var zeros = Assert.IsType<PieceData>(await ReplyAsync(raw, 2));

        Assert.Equal(100, zeros.Length);
        Assert.True(zeros.Data.Span.IndexOfAnyExcept((byte)0) < 0, "the missing bytes are sent as zeros");
        Assert.Equal(1, node.TransferCounters.ReadFailures);
        Assert.Equal(1, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_file_outside_the_shares_or_excluded_cannot_be_requested_its_hash_is_unknown()
    {
        await using var nodes = new TestNodes();
        var shared = Content(1000, 13);
        var excluded = Content(1000, 14);
        var outside = Content(1000, 15);
        var outsideFolder = Path.Combine(nodes.Root, "private");
        Directory.CreateDirectory(outsideFolder);
        File.WriteAllBytes(Path.Combine(outsideFolder, "secret.bin"), outside);
        var (node, folder) = await StartSharingAsync(nodes, "server", 1, [("shared.bin", shared)], o => o.Index.Exclude = ["*.secret"]);
        File.WriteAllBytes(Path.Combine(folder, "hidden.secret"), excluded);

        // A pass over the disk has seen the excluded file (and left it out) before it is asked for.
        await node.Index.ReconcileAsync();
        await TestShare.IdleAsync(node.Index);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new PieceRequest(1, HashBytes(outside), 0));
        await raw.SendAsync(new PieceListRequest(2, HashBytes(outside), 0));
        await raw.SendAsync(new PieceRequest(3, HashBytes(excluded), 0));
        await raw.SendAsync(new PieceRequest(4, HashBytes(shared), 0));

        Refused(await ReplyAsync(raw, 1), ProtocolError.UnknownFile);
        Refused(await ReplyAsync(raw, 2), ProtocolError.UnknownFile);
        Refused(await ReplyAsync(raw, 3), ProtocolError.UnknownFile);
        Assert.IsType<PieceData>(await ReplyAsync(raw, 4));
        Assert.Equal(1, node.TransferCounters.PiecesServed);
        Assert.Equal(1000, node.TransferCounters.BytesServed);
    }

    [Fact]
    public async Task A_shared_file_swapped_for_a_link_after_indexing_is_refused_FileChanged_and_the_target_never_leaks()
    {
        await using var nodes = new TestNodes();
        var content = Content(4096, 16);
        var (node, folder) = await StartSharingAsync(nodes, "server", 1, [("doc.bin", content), ("sub/inner.bin", Content(4096, 17))], FrozenIndex);
        var outsideFolder = Path.Combine(nodes.Root, "private");
        Directory.CreateDirectory(outsideFolder);

        // The link's target has the indexed size and last-write time: only the link check stands in the way.
        var doc = Path.Combine(folder, "doc.bin");
        var secret = Path.Combine(outsideFolder, "secret.bin");
        File.WriteAllBytes(secret, Content(4096, 18));
        File.SetLastWriteTimeUtc(secret, File.GetLastWriteTimeUtc(doc));
        File.Delete(doc);
        File.CreateSymbolicLink(doc, secret);

        // And a folder on the way swapped for a link to a folder holding a look-alike.
        var inner = Path.Combine(folder, "sub", "inner.bin");
        var innerHash = HashBytes(Content(4096, 17));
        var lookAlikeFolder = Path.Combine(outsideFolder, "sub");
        Directory.CreateDirectory(lookAlikeFolder);
        File.WriteAllBytes(Path.Combine(lookAlikeFolder, "inner.bin"), Content(4096, 19));
        File.SetLastWriteTimeUtc(Path.Combine(lookAlikeFolder, "inner.bin"), File.GetLastWriteTimeUtc(inner));
        Directory.Delete(Path.Combine(folder, "sub"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(folder, "sub"), lookAlikeFolder);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new PieceRequest(1, HashBytes(content), 0));
        await raw.SendAsync(new PieceListRequest(2, HashBytes(content), 0));
        await raw.SendAsync(new PieceRequest(3, innerHash, 0));

        Refused(await ReplyAsync(raw, 1), ProtocolError.FileChanged);
        Refused(await ReplyAsync(raw, 2), ProtocolError.FileChanged);
        Refused(await ReplyAsync(raw, 3), ProtocolError.FileChanged);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
        Assert.Equal(0, node.TransferCounters.BytesServed);
    }

    [Fact]
    public async Task A_share_root_replaced_by_a_link_after_indexing_is_refused_FileChanged()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // Only Linux tells where an open handle leads (/proc/self/fd); elsewhere the path checks are all.
        }

        await using var nodes = new TestNodes();
        var content = Content(4096, 21);
        var (node, folder) = await StartSharingAsync(nodes, "server", 1, [("doc.bin", content)], FrozenIndex);
        // A look-alike elsewhere: same name, size and last-write time, other bytes.
        var lookAlike = Path.Combine(nodes.Root, "elsewhere");
        Directory.CreateDirectory(lookAlike);
        File.WriteAllBytes(Path.Combine(lookAlike, "doc.bin"), Content(4096, 22));
        File.SetLastWriteTimeUtc(Path.Combine(lookAlike, "doc.bin"), File.GetLastWriteTimeUtc(Path.Combine(folder, "doc.bin")));
        Directory.Move(folder, folder + "-moved");
        Directory.CreateSymbolicLink(folder, lookAlike);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new PieceRequest(1, HashBytes(content), 0));

        Refused(await ReplyAsync(raw, 1), ProtocolError.FileChanged);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_share_given_through_a_linked_parent_folder_is_served()
    {
        // Common on real machines: a share below a linked folder (macOS /tmp, a data disk linked into home).
        await using var nodes = new TestNodes();
        var real = Path.Combine(nodes.Root, "real");
        Directory.CreateDirectory(Path.Combine(real, "pub"));
        var content = Content(3000, 20);
        File.WriteAllBytes(Path.Combine(real, "pub", "doc.bin"), content);
        var linked = Path.Combine(nodes.Root, "linked");
        Directory.CreateSymbolicLink(linked, real);
        var node = await nodes.StartAsync("server", 1, options => options.Index.Shares = [Path.Combine(linked, "pub")]);
        await TestShare.IdleAsync(node.Index);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());

        await raw.SendAsync(new PieceRequest(1, HashBytes(content), 0));

        Assert.True(Assert.IsType<PieceData>(await ReplyAsync(raw, 1)).Data.Span.SequenceEqual(content));
    }

    public static TheoryData<string, byte[], ProtocolError> BadTransferFrames()
    {
        var cut = FrameCodec.ToArray(new PieceRequest(1, new byte[32], 0))[..26];
        BinaryPrimitives.WriteUInt32BigEndian(cut.AsSpan(2), 20);
        var oversized = FrameCodec.ToArray(new PieceListRequest(1, new byte[32], 0))[..6];
        BinaryPrimitives.WriteUInt32BigEndian(oversized.AsSpan(2), 1_000_000);
        return new TheoryData<string, byte[], ProtocolError>
        {
            { "piece request cut short", cut, ProtocolError.MalformedFrame },
            { "list request announcing a megabyte", oversized, ProtocolError.FrameTooLarge },
            { "piece data sent to a server", FrameCodec.ToArray(PieceData.FromBytes(1, 0, [1, 2, 3])), ProtocolError.UnexpectedMessage },
            { "piece list sent to a server", FrameCodec.ToArray(new PieceList(1, 1, 0, new byte[32])), ProtocolError.UnexpectedMessage },
            { "refusal sent to a server", FrameCodec.ToArray(TransferRefused.Create(1, ProtocolError.NodeBusy, "no")), ProtocolError.UnexpectedMessage },
        };
    }

    [Theory]
    [MemberData(nameof(BadTransferFrames))]
    public async Task A_bad_transfer_frame_closes_only_its_connection_gives_back_its_slot_and_the_node_keeps_serving(string what, byte[] bytes, ProtocolError expected)
    {
        await using var nodes = new TestNodes();
        var content = Content(2500, 20);
        var hash = HashBytes(content);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("file.bin", content)], o => o.MaxUploads = 1);
        await using var bystander = await NodeClient.ConnectAsync(node.Endpoint);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await raw.SendAsync(new PieceRequest(1, hash, 0));
        Assert.IsType<PieceData>(await ReplyAsync(raw, 1));
        Assert.Equal(1, node.TransferCounters.UploadsActive);

        await raw.SendAsync(bytes);
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed, $"{what}: the node should close the connection");
        Assert.Equal(expected, Assert.IsType<ErrorMessage>(messages.Last()).Error);
        Assert.True(await Eventually.TrueAsync(() => node.TransferCounters.UploadsActive == 0, Wait), $"{what}: the slot should be given back");
        var piece = await bystander.GetPieceAsync(hash, 0, CancellationToken.None);
        Assert.True(piece.Data.Span.SequenceEqual(content));
        piece.Release();
        Assert.Equal(1, node.Counters.ProtocolErrors);
        Assert.Equal(2, node.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_peer_link_carries_no_transfer_requests_it_is_closed_UnexpectedMessage_and_nothing_is_served()
    {
        await using var nodes = new TestNodes();
        var content = Content(2500, 21);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("file.bin", content)]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.PeerHello(RawConnection.NewId()));

        await raw.SendAsync(new PieceRequest(1, HashBytes(content), 0));
        var (messages, closed) = await raw.ReadUntilClosedAsync(Wait);

        Assert.True(closed);
        Assert.Equal(ProtocolError.UnexpectedMessage, Assert.IsType<ErrorMessage>(messages.Last()).Error);
        Assert.DoesNotContain(messages, m => m is PieceData or TransferRefused);
        Assert.Equal(0, node.TransferCounters.PiecesServed);
        Assert.Equal(0, node.TransferCounters.UploadsStarted);
    }

    [Fact]
    public async Task A_closing_node_refuses_new_uploads_and_new_files_NodeClosing_while_finishing_the_upload_under_way()
    {
        await using var nodes = new TestNodes();
        var served = Content(3000, 22);
        var other = Content(3000, 23);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("served.bin", served), ("other.bin", other)]);
        using var downloading = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        using var newcomer = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello());
        await downloading.SendAsync(new PieceRequest(1, HashBytes(served), 0));
        Assert.IsType<PieceData>(await ReplyAsync(downloading, 1));

        var stopping = node.StopAsync(TimeSpan.FromSeconds(30));
        Assert.True(await Eventually.TrueAsync(() => node.Work.IsClosing, Wait));
        await newcomer.SendAsync(new PieceRequest(1, HashBytes(served), 0));
        await downloading.SendAsync(new PieceRequest(2, HashBytes(served), 0));
        await downloading.SendAsync(new PieceListRequest(3, HashBytes(served), 0));
        await downloading.SendAsync(new PieceRequest(4, HashBytes(other), 0));

        Refused(await ReplyAsync(newcomer, 1), ProtocolError.NodeClosing);
        Assert.True(Assert.IsType<PieceData>(await ReplyAsync(downloading, 2)).Data.Span.SequenceEqual(served));
        Assert.IsType<PieceList>(await ReplyAsync(downloading, 3));
        Refused(await ReplyAsync(downloading, 4), ProtocolError.NodeClosing);
        Assert.False(stopping.IsCompleted, "the stop waits for the upload under way");
        Assert.Equal(2, node.TransferCounters.RequestsRefused);
        Assert.Equal(2, node.TransferCounters.PiecesServed);

        // The downloader leaves: its upload ends and the stop completes well before the drain timeout.
        downloading.Dispose();
        newcomer.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, node.TransferCounters.UploadsActive);
    }

    [Fact]
    public async Task More_than_64_pieces_requested_and_not_yet_sent_are_refused_NodeBusy()
    {
        await using var nodes = new TestNodes();
        var content = Content(8 * MiB, 24);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("big.bin", content)]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), receiveBuffer: 4096);
        var hash = HashBytes(content);

        // A downloader that asks for 100 MiB at once and reads nothing: the node cannot send more than the socket takes.
        await raw.SendAsync(Enumerable.Range(0, 100).SelectMany(i => FrameCodec.ToArray(new PieceRequest((uint)i + 1, hash, (uint)(i % 8)))).ToArray());

        Assert.True(await Eventually.TrueAsync(() => node.TransferCounters.UploadsRefusedBusy >= 100 - ProtocolLimits.MaxPiecesInFlight - 16, Wait), $"refused busy: {node.TransferCounters.UploadsRefusedBusy}, served: {node.TransferCounters.PiecesServed}");
        await Task.Delay(200);
        Assert.InRange(node.TransferCounters.UploadsRefusedBusy, 100 - ProtocolLimits.MaxPiecesInFlight - 16, 100 - ProtocolLimits.MaxPiecesInFlight);
        Assert.Equal(1, node.TransferCounters.UploadsStarted);
        Assert.Equal(0, node.TransferCounters.RequestsRefused);
    }

    [Fact]
    public async Task Piece_requests_past_64_pending_are_refused_NodeBusy_while_piece_list_requests_are_never_counted()
    {
        await using var nodes = new TestNodes();
        var content = Content(8 * MiB, 25);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("big.bin", content)]);
        using var raw = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), receiveBuffer: 4096);
        var hash = HashBytes(content);

        // In one write, reading nothing: 64 piece requests, 8 piece-list requests, 36 piece requests, one last list
        // request. Requests are handled in order, so when the last list is served every request before it was judged.
        var burst = Enumerable.Range(1, 64).Select(i => (IMessage)new PieceRequest((uint)i, hash, (uint)(i % 8)))
            .Concat(Enumerable.Range(65, 8).Select(i => (IMessage)new PieceListRequest((uint)i, hash, 0)))
            .Concat(Enumerable.Range(73, 36).Select(i => (IMessage)new PieceRequest((uint)i, hash, (uint)(i % 8))))
            .Append(new PieceListRequest(109, hash, 0));
        await raw.SendAsync(burst.SelectMany(FrameCodec.ToArray).ToArray());

        Assert.True(await Eventually.TrueAsync(() => node.TransferCounters.PieceListsServed == 9, Wait), $"piece lists served: {node.TransferCounters.PieceListsServed}");
        // Only the 36 piece requests after the first 64 can be refused; each piece the node wrote to the socket before
        // they arrived made room for one (the socket takes few: this side reads nothing and its buffer is 4 KiB).
        Assert.InRange(node.TransferCounters.UploadsRefusedBusy, 36 - 16, 36);
        Assert.Equal(0, node.TransferCounters.RequestsRefused);
    }

    [Fact]
    public async Task A_downloader_that_requests_pieces_but_never_reads_them_does_not_keep_its_slot_from_others()
    {
        await using var nodes = new TestNodes();
        var content = Content(8 * MiB, 25);
        var (node, _) = await StartSharingAsync(nodes, "server", 1, [("big.bin", content)], o =>
        {
            o.MaxUploads = 1;
            TestNodes.FastKeepAlive(o);
        });
        using var stuck = await RawConnection.HandshakeAsync(node.Endpoint, RawConnection.ClientHello(), receiveBuffer: 4096);
        var hash = HashBytes(content);
        await stuck.SendAsync(Enumerable.Range(0, 64).SelectMany(i => FrameCodec.ToArray(new PieceRequest((uint)i + 1, hash, (uint)(i % 8)))).ToArray());
        Assert.True(await Eventually.TrueAsync(() => node.TransferCounters.UploadsActive == 1, Wait));

        // It keeps writing (pings), so it is not silent: only its not reading could get it dropped.
        bool freed = false;
        for (int tick = 0; tick < 48 && !freed; tick++)
        {
            await Task.Delay(250);
            try
            {
                await stuck.SendAsync(new Ping((ulong)tick));
            }
            catch (System.Net.Sockets.SocketException)
            {
            }

            freed = node.TransferCounters.UploadsActive == 0;
        }

        Assert.True(freed, $"after 12 s the downloader that reads nothing still holds the only upload slot: active {node.TransferCounters.UploadsActive}, served {node.TransferCounters.PiecesServed}, connections {node.ConnectionCount}");
    }
}
