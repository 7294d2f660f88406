using System.Security.Cryptography;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Transfer.Download;

/// <summary>
/// A piece that arrived, on a real partial file without sockets: checked, written, marked verified once for the
/// partial file, the scheduler and the hasher alike, and its buffer handed to the hasher or released, never both.
/// </summary>
public sealed class PieceAcceptanceTests : IDisposable
{
    private const int Piece = TransferLimits.PieceSize;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "p2pt-accept-" + Guid.NewGuid().ToString("N"));

    public PieceAcceptanceTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A new partial file for <paramref name="content"/> named <paramref name="name"/> in this test's folder.</summary>
    private PartialFile NewPartial(string name, byte[] content) =>
        PartialFile.Create(Path.Combine(_root, name), content.Length, HashBytes(content), PieceHashes(content));

    /// <summary>The acceptance of pieces into <paramref name="partial"/>, with its item and scheduler.</summary>
    private static PieceAcceptance Accepting(PartialFile partial, byte[] content, WholeFileHasher? hasher, out DownloadItem item, out PieceScheduler scheduler)
    {
        item = new DownloadItem(1, HashBytes(content), Path.GetFileName(partial.Destination), content.Length, partial.Destination);
        scheduler = new PieceScheduler(partial.Verified);
        return new PieceAcceptance(item, partial, scheduler, hasher, new ArrivalChecks());
    }

    private static PieceData Arrived(byte[] content, int piece) =>
        PieceData.FromBytes(1, (uint)piece, content.AsSpan(piece * Piece, TransferLimits.PieceLength(content.Length, piece)));

    [Fact]
    public async Task Accepted_pieces_are_verified_for_the_scheduler_and_hasher_and_the_whole_file_hash_comes_from_held_and_read_back_pieces()
    {
        var content = Content((9 * Piece) + 100, 7);
        using var partial = NewPartial("f.bin", content);
        using var hasher = new WholeFileHasher(partial, new HeldPieceBudget(8));
        var acceptance = Accepting(partial, content, hasher, out var item, out var scheduler);
        Assert.Equal(Enumerable.Range(0, 10), Enumerable.Range(0, 10).Select(_ => scheduler.Next(idle: false)));

        // Out of order (pieces 8 and 9 too far ahead of piece 0 to be held: read back), and piece 2 twice (the end game's second
        // copy is not written or counted again).
        foreach (var piece in new[] { 9, 2, 0, 3, 2, 1, 4, 5, 6, 7, 8 })
        {
            await acceptance.AcceptAsync("a:1", piece, Arrived(content, piece), CancellationToken.None);
        }

        Assert.True(scheduler.AllVerified);
        Assert.Equal(10, partial.Verified.Count);
        Assert.Equal(content.Length, item.BytesDone);
        Assert.Equal(SHA256.HashData(content), await hasher.RunAsync(CancellationToken.None));
        // The hasher runs only now: pieces 8 and 9 came when the next in order was piece 0, beyond its window of 8.
        Assert.Equal(2, hasher.PiecesReadBack);
    }

    [Fact]
    public async Task Pieces_arriving_out_of_order_within_the_budget_are_hashed_from_their_buffers_and_none_is_read_back()
    {
        // Four sources deliver: each source's pieces in order, the sources interleaved unevenly (piece 0 last).
        var content = Content((24 * Piece) + 5, 10);
        using var partial = NewPartial("o.bin", content);
        var budget = new HeldPieceBudget(TransferLimits.PiecesHeldForHashing);
        using var hasher = new WholeFileHasher(partial, budget);
        var acceptance = Accepting(partial, content, hasher, out _, out var scheduler);
        for (int i = 0; i < 25; i++)
        {
            scheduler.Next(idle: false);
        }

        var order = Enumerable.Range(0, 25).OrderBy(p => p % 4 == 0 ? 100 + p : ((p % 4) * 30) + p).ToList();
        foreach (var piece in order)
        {
            await acceptance.AcceptAsync("a:1", piece, Arrived(content, piece), CancellationToken.None);
        }

        Assert.Equal(25, budget.Held);
        Assert.Equal(SHA256.HashData(content), await hasher.RunAsync(CancellationToken.None));
        Assert.Equal(0, hasher.PiecesReadBack);
        Assert.Equal(0, budget.Held);
    }

    [Fact]
    public async Task Hashers_of_a_process_hold_no_more_pieces_than_their_shared_budget_and_read_the_rest_back()
    {
        var content = Content(6 * Piece, 11);
        using var first = NewPartial("p.bin", content);
        using var second = NewPartial("q.bin", content);
        var budget = new HeldPieceBudget(4);
        using var hasherOfFirst = new WholeFileHasher(first, budget);
        using var hasherOfSecond = new WholeFileHasher(second, budget);
        var acceptFirst = Accepting(first, content, hasherOfFirst, out _, out _);
        var acceptSecond = Accepting(second, content, hasherOfSecond, out _, out _);

        // Pieces 1-3 of each file, piece 0 of neither yet: pieces 1 and 2 of each are held, and the budget is full.
        foreach (var piece in new[] { 1, 2, 3 })
        {
            await acceptFirst.AcceptAsync("a:1", piece, Arrived(content, piece), CancellationToken.None);
            await acceptSecond.AcceptAsync("a:1", piece, Arrived(content, piece), CancellationToken.None);
        }

        Assert.Equal(4, budget.Held);
        foreach (var piece in new[] { 0, 4, 5 })
        {
            await acceptFirst.AcceptAsync("a:1", piece, Arrived(content, piece), CancellationToken.None);
            await acceptSecond.AcceptAsync("a:1", piece, Arrived(content, piece), CancellationToken.None);
        }

        Assert.Equal(SHA256.HashData(content), await hasherOfFirst.RunAsync(CancellationToken.None));
        Assert.Equal(SHA256.HashData(content), await hasherOfSecond.RunAsync(CancellationToken.None));
        Assert.Equal(0, budget.Held);
        // Read back: every piece that came while the budget was full (pieces 0 and 3-5 of each file).
        Assert.Equal((4, 4), (hasherOfFirst.PiecesReadBack, hasherOfSecond.PiecesReadBack));
    }

    [Fact]
    public async Task While_the_hasher_is_behind_a_source_with_pieces_under_way_gets_none_beyond_what_it_holds_and_an_idle_source_still_gets_one()
    {
        var content = Content(12 * Piece, 13);
        using var partial = NewPartial("s.bin", content);
        using var hasher = new WholeFileHasher(partial, new HeldPieceBudget(4));
        var acceptance = Accepting(partial, content, hasher, out _, out var scheduler);
        var pacing = new PiecePacing(scheduler, bandwidth: null, content.Length, hasher);

        // The hasher waits for piece 0: no limit (a late piece holds nothing up).
        Assert.Equal(int.MaxValue, hasher.Horizon);
        foreach (var expected in Enumerable.Range(0, 6))
        {
            Assert.Equal(expected, await pacing.NextAsync(idle: false, CancellationToken.None));
        }

        // Piece 0 is in: the hasher has work, and holds pieces up to 3 ahead of it. Piece 6 is not given to a source
        // with pieces under way (and stays the next to give), but is to one with none.
        await acceptance.AcceptAsync("a:1", 0, Arrived(content, 0), CancellationToken.None);
        Assert.Equal(4, hasher.Horizon);
        Assert.Equal(-1, await pacing.NextAsync(idle: false, CancellationToken.None));
        Assert.Equal(6, await pacing.NextAsync(idle: true, CancellationToken.None));

        // Once piece 0 is hashed the hasher waits for piece 1, and the limit is gone.
        using var stop = new CancellationTokenSource();
        var running = hasher.RunAsync(stop.Token);
        Assert.True(await Eventually.TrueAsync(() => hasher.Horizon == int.MaxValue, TimeSpan.FromSeconds(30)), "the hasher never waited for piece 1");
        Assert.Equal(7, await pacing.NextAsync(idle: false, CancellationToken.None));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task A_piece_that_does_not_match_its_hash_is_refused_released_and_given_back_to_the_scheduler()
    {
        var content = Content(2 * Piece, 8);
        using var partial = NewPartial("g.bin", content);
        var acceptance = Accepting(partial, content, hasher: null, out _, out var scheduler);
        Assert.Equal(0, scheduler.Next(idle: false));
        var bad = PieceData.FromBytes(1, 0, content.AsSpan(Piece, Piece));

        var error = await Assert.ThrowsAsync<P2PException>(() => acceptance.AcceptAsync("a:1", 0, bad, CancellationToken.None));

        Assert.Equal(ProtocolError.VerificationFailed, error.Code);
        Assert.Equal("a:1 sent bad data for piece 0 of 'g.bin' (it does not match the piece's hash); that source is no longer used for it", error.Message);
        Assert.Throws<ObjectDisposedException>(() => bad.Data);
        Assert.False(partial.Verified.Contains(0));
        Assert.Equal(0, scheduler.Next(idle: false));
    }

    [Fact]
    public async Task A_piece_verified_but_not_yet_offered_is_not_read_back_the_hasher_waits_for_its_buffer()
    {
        var content = Content((2 * Piece) + 9, 12);
        using var partial = NewPartial("r.bin", content);
        using var hasher = new WholeFileHasher(partial, new HeldPieceBudget(8));
        // Pieces 0 and 1 are in the partial file and marked verified; their deliverers have not offered them yet.
        Assert.True(await partial.WritePieceAsync(0, content.AsMemory(0, Piece), CancellationToken.None));
        Assert.True(await partial.WritePieceAsync(1, content.AsMemory(Piece, Piece), CancellationToken.None));
        var running = hasher.RunAsync(CancellationToken.None);

        foreach (var piece in new[] { 1, 0, 2 })
        {
            if (piece == 2)
            {
                Assert.True(await partial.WritePieceAsync(2, content.AsMemory(2 * Piece), CancellationToken.None));
            }

            var offered = new OwnedPiece(Arrived(content, piece));
            hasher.Offer(piece, ref offered);
            offered.Dispose();
        }

        Assert.Equal(SHA256.HashData(content), await running.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, hasher.PiecesReadBack);
    }

    [Fact]
    public void The_hasher_takes_over_a_buffer_it_can_use_and_leaves_one_it_cannot_with_its_owner()
    {
        var content = Content(10 * Piece, 9);
        using var partial = NewPartial("h.bin", content);
        using var hasher = new WholeFileHasher(partial, new HeldPieceBudget(8));
        var first = new OwnedPiece(Arrived(content, 0));
        var again = new OwnedPiece(Arrived(content, 0));
        var tooFarAhead = new OwnedPiece(Arrived(content, 9));

        hasher.Offer(0, ref first);
        hasher.Offer(0, ref again);
        hasher.Offer(9, ref tooFarAhead);

        Assert.Throws<ObjectDisposedException>(() => first.Piece);
        Assert.Equal(Piece, again.Piece.Data.Length);
        Assert.Equal(Piece, tooFarAhead.Piece.Data.Length);
        again.Dispose();
        tooFarAhead.Dispose();
        Assert.Throws<ObjectDisposedException>(() => again.Piece);
    }
}
