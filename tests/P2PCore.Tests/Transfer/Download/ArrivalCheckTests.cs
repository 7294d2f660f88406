using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// Pieces hashed on arrival: a source's first pieces and a random share of the rest. The whole-file hash covers the
/// others, and when it disagrees the pieces taken unchecked are checked from disk: their source is dropped, they are
/// fetched again, and a piece a source sent is never taken for damage on this disk (nor the other way round).
/// </summary>
public sealed class ArrivalCheckTests
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public void A_sources_first_pieces_are_all_checked_and_after_them_only_those_the_draw_picks()
    {
        var draws = new Queue<int>([1, 0, 1, 1]);
        var checks = new ArrivalChecks(_ => draws.Dequeue());
        for (int piece = 0; piece < TransferLimits.PiecesCheckedFirst; piece++)
        {
            Assert.True(checks.CheckNow("a:1"), $"piece {piece} of a source's first {TransferLimits.PiecesCheckedFirst} is checked");
        }

        Assert.Equal([false, true, false, false], Enumerable.Range(0, 4).Select(_ => checks.CheckNow("a:1")));
        // Another source starts its own count.
        Assert.True(checks.CheckNow("b:1"));
        // Once the whole file did not match, every piece is checked.
        checks.CheckEveryPiece();
        Assert.True(checks.CheckNow("a:1"));
    }

    [Fact]
    public async Task Bad_pieces_taken_unchecked_are_found_when_the_whole_file_does_not_match_fetched_again_with_every_piece_checked_and_a_source_sending_them_bad_again_is_dropped()
    {
        await using var nodes = new TestNodes();
        var content = Content((16 * MiB) + 7, 211);
        // Pieces 10 and 13 of the bad node's copy changed after it was indexed: after its first pieces, which are checked.
        var (bad, good) = await BadAndGoodSourcesAsync(nodes, content, [10, 13]);
        var destination = Destination(nodes);

        // First only from the bad source, nothing after its first pieces checked on arrival.
        await using (var first = new DownloadBatch(new DownloadOptions { Destination = destination, PickArrivalChecks = _ => 1 }))
        {
            var item = first.Add(HashOf(content), "f.bin", content.Length, bad.Endpoint)!;
            await RunAsync(first);
            Assert.Equal(DownloadState.Failed, item.State);
            var error = Assert.IsType<P2PException>(item.Error);
            Assert.Equal(ProtocolError.VerificationFailed, error.Code);
            // Asked again for the pieces that did not match, checked as they arrive: the source is caught by that check.
            Assert.Contains("sent bad data for piece 10 of 'f.bin'", item.SourceFailures[bad.Endpoint]);
            Assert.DoesNotContain("this disk", error.Message);
            // The good pieces stay for the next run; the two bad ones are out of the record.
            var record = Assert.NotNull(PartialFile.ReadRecord(item.Destination));
            Assert.Equal(content.Length - (2L * MiB), record.BytesVerified);
        }

        // Then from the good source: only the two dropped pieces are fetched.
        await using var second = new DownloadBatch(new DownloadOptions { Destination = destination, PickArrivalChecks = _ => 1 });
        var again = second.Add(HashOf(content), "f.bin", content.Length, good.Endpoint)!;
        await RunAsync(second);
        AssertArrived(again, content);
        Assert.Equal(2, good.TransferCounters.PiecesServed);
    }

    [Fact]
    public async Task A_source_caught_by_a_drawn_check_is_dropped_at_once_and_its_earlier_unchecked_pieces_are_fetched_again_from_the_others()
    {
        await using var nodes = new TestNodes();
        var content = Content((16 * MiB) + 7, 212);
        int first = TransferLimits.PiecesCheckedFirst;
        var (bad, good) = await BadAndGoodSourcesAsync(nodes, content, [first + 1, first + 2, first + 3]);

        // The bad source alone first (MaxSources 1, the good one listed after it): the two pieces after its first
        // ones go unchecked (the second of them bad), the third draw checks the next one (bad).
        var draws = new Queue<int>([1, 1, 0]);
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = Destination(nodes), MaxSources = 1, PickArrivalChecks = _ => draws.TryDequeue(out var d) ? d : 1 });
        var item = batch.Add(HashOf(content), "f.bin", content.Length, bad.Endpoint)!;
        batch.Add(HashOf(content), null, null, good.Endpoint);
        await RunAsync(batch);

        AssertArrived(item, content);
        var failure = Assert.Single(item.SourceFailures);
        Assert.Equal(bad.Endpoint, failure.Key);
        Assert.Contains($"bad data for piece {first + 2}", failure.Value);
        // The bad piece taken unchecked from the bad source was found bad once the whole file did not match, and came again.
        Assert.True(good.TransferCounters.PiecesServed >= 7, $"the good source served {good.TransferCounters.PiecesServed} piece(s)");
    }

    [Fact]
    public async Task On_resume_a_bad_piece_taken_unchecked_is_told_apart_from_a_checked_piece_damaged_on_this_disk()
    {
        var root = Path.Combine(Path.GetTempPath(), "p2pt-arrival-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var content = Content((4 * MiB) + 3, 213);
            var destination = Path.Combine(root, "f.bin");
            using (var partial = PartialFile.Create(destination, content.Length, HashBytes(content), PieceHashes(content)))
            {
                var wrong = content.AsSpan(MiB, MiB).ToArray();
                wrong[5] ^= 0xFF;
                Assert.True(await partial.WritePieceAsync(0, content.AsMemory(0, MiB), checkedOnArrival: true, CancellationToken.None));
                Assert.True(await partial.WritePieceAsync(1, wrong, checkedOnArrival: false, CancellationToken.None));
                Assert.True(await partial.WritePieceAsync(2, content.AsMemory(2 * MiB, MiB), checkedOnArrival: false, CancellationToken.None));
                partial.Suspend();
            }

            // Piece 0 (checked when it arrived) changes on this disk afterwards.
            using (var data = new FileStream(destination + PartialFile.DataSuffix, FileMode.Open, FileAccess.Write))
            {
                data.Position = 7;
                data.WriteByte((byte)~content[7]);
            }

            using var resumed = Assert.IsType<PartialFile>(PartialFile.TryResume(destination, content.Length, HashBytes(content)));
            Assert.Equal(1, resumed.DamagedOnResume);
            Assert.Equal(1, resumed.BadUncheckedOnResume);
            Assert.Equal([2], Enumerable.Range(0, resumed.PieceCount).Where(resumed.Verified.Contains));
            // Checked on resume: piece 2 counts as checked from here on.
            Assert.False(resumed.IsUnchecked(2));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_version_2_record_whose_upgrade_stopped_after_it_was_extended_still_resumes()
    {
        var root = Path.Combine(Path.GetTempPath(), "p2pt-arrival-" + Guid.NewGuid().ToString("N"));
        try
        {
            var content = Content((3 * MiB) + 3, 214);
            var destination = Path.Combine(root, "f.bin");
            WritePartial(destination, content, piece => piece == 1);
            // The upgrade writes the empty unchecked bits first, then the version: stopped in between.
            using (var record = new FileStream(destination + PartialFile.RecordSuffix, FileMode.Append))
            {
                record.Write(new byte[1]);
            }

            using var resumed = Assert.IsType<PartialFile>(PartialFile.TryResume(destination, content.Length, HashBytes(content)));
            Assert.Equal([1], Enumerable.Range(0, resumed.PieceCount).Where(resumed.Verified.Contains));
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>
    /// Two nodes sharing <paramref name="content"/> as f.bin: a bad one (127.0.0.1) whose copy has <paramref name="bad"/>
    /// pieces changed after it was indexed, and a good one (127.0.0.2).
    /// </summary>
    private static async Task<(P2PNode Bad, P2PNode Good)> BadAndGoodSourcesAsync(TestNodes nodes, byte[] content, int[] bad)
    {
        var (badNode, badFolder) = await StartSharingAsync(nodes, "bad", 1, [("f.bin", content)], FrozenIndex);
        var good = (await StartSharingAsync(nodes, "good", 2, [("f.bin", content)])).Node;
        CorruptPieces(Path.Combine(badFolder, "f.bin"), content, bad);
        return (badNode, good);
    }

    /// <summary>Changes a byte in each of <paramref name="pieces"/> of a shared file, keeping its last-write time so its index keeps the old hashes.</summary>
    private static void CorruptPieces(string path, byte[] content, int[] pieces)
    {
        var indexed = File.GetLastWriteTimeUtc(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            foreach (int piece in pieces)
            {
                long offset = ((long)piece * MiB) + 100;
                stream.Position = offset;
                stream.WriteByte((byte)~content[offset]);
            }
        }

        File.SetLastWriteTimeUtc(path, indexed);
    }
}
