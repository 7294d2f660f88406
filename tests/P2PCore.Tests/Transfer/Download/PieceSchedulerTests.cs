using P2PTransfer.Transfer;

namespace P2PTransfer.Tests.Transfer.Download;

/// <summary>Which source is given which piece: lowest first, one source each, then the end game; given-back pieces go first again.</summary>
public class PieceSchedulerTests
{
    private const long Piece = TransferLimits.PieceSize;

    private static VerifiedPieces Verified(int pieces, params int[] verified)
    {
        var bitmap = new byte[Math.Max(1, (pieces + 7) / 8)];
        foreach (var piece in verified)
        {
            bitmap[piece / 8] |= (byte)(1 << (piece % 8));
        }

        return new VerifiedPieces(pieces * Piece, bitmap);
    }

    private static List<int> TakeAll(PieceScheduler scheduler, bool idle)
    {
        var pieces = new List<int>();
        for (int i = 0; i < 100 && scheduler.Next(idle) is var next && next >= 0; i++)
        {
            pieces.Add(next);
        }

        return pieces;
    }

    [Fact]
    public void Pieces_go_out_lowest_first_each_to_one_source_until_none_is_left_unassigned()
    {
        var scheduler = new PieceScheduler(Verified(5));

        Assert.Equal([0, 1, 2, 3, 4], TakeAll(scheduler, idle: false));
        Assert.Equal(-1, scheduler.Next(idle: false));
        Assert.False(scheduler.AllVerified);
    }

    [Fact]
    public void Pieces_the_record_marks_verified_are_never_handed_out_not_even_in_the_end_game()
    {
        var scheduler = new PieceScheduler(Verified(6, 1, 3, 4));

        Assert.Equal([0, 2, 5], TakeAll(scheduler, idle: false));
        Assert.Equal([0, 2, 5], TakeAll(scheduler, idle: true));
    }

    [Fact]
    public void In_the_end_game_only_a_source_with_nothing_under_way_gets_a_piece_under_way_elsewhere_and_a_piece_goes_to_two_sources_at_most()
    {
        var scheduler = new PieceScheduler(Verified(2));
        Assert.Equal(0, scheduler.Next(idle: false));
        Assert.Equal(1, scheduler.Next(idle: false));

        Assert.Equal(-1, scheduler.Next(idle: false));
        Assert.Equal(0, scheduler.Next(idle: true));
        Assert.Equal(1, scheduler.Next(idle: true));
        Assert.Equal(-1, scheduler.Next(idle: true));
    }

    [Fact]
    public void The_end_game_skips_a_piece_that_was_verified_meanwhile()
    {
        var verified = Verified(3);
        var scheduler = new PieceScheduler(verified);
        Assert.Equal([0, 1, 2], TakeAll(scheduler, idle: false));

        Assert.True(verified.Add(0));
        scheduler.Release(0);

        Assert.Equal([1, 2], TakeAll(scheduler, idle: true));
    }

    [Fact]
    public void The_pieces_of_a_source_that_leaves_go_to_the_next_source_that_asks_lowest_first_before_new_ones()
    {
        var scheduler = new PieceScheduler(Verified(8));
        Assert.Equal([0, 1, 2, 3, 4], Enumerable.Range(0, 5).Select(_ => scheduler.Next(idle: false)).ToList());

        // The source that had 1 and 3 leaves.
        scheduler.Release(3);
        scheduler.Release(1);

        Assert.Equal([1, 3, 5, 6, 7], TakeAll(scheduler, idle: false));
    }

    [Fact]
    public void A_piece_given_up_by_one_of_its_two_sources_stays_with_the_other_and_is_not_handed_out_again()
    {
        var scheduler = new PieceScheduler(Verified(1));
        Assert.Equal(0, scheduler.Next(idle: false));
        Assert.Equal(0, scheduler.Next(idle: true));

        scheduler.Release(0);

        Assert.Equal(-1, scheduler.Next(idle: false));
        // The end game may give it to one more source, but not to two.
        Assert.Equal([0], TakeAll(scheduler, idle: true));
    }

    [Fact]
    public void A_piece_that_arrived_is_not_handed_out_again_and_the_file_is_done_when_every_piece_is_verified()
    {
        var verified = Verified(2);
        var scheduler = new PieceScheduler(verified);
        Assert.Equal([0, 1], TakeAll(scheduler, idle: false));

        Assert.True(verified.Add(1));
        scheduler.Release(1);
        Assert.Equal([0], TakeAll(scheduler, idle: true));
        Assert.False(scheduler.AllVerified);

        Assert.True(verified.Add(0));
        Assert.False(verified.Add(0));
        Assert.True(scheduler.AllVerified);
        Assert.Equal(-1, scheduler.Next(idle: true));
    }

    [Fact]
    public void A_file_without_pieces_is_done_from_the_start()
    {
        var scheduler = new PieceScheduler(new VerifiedPieces(0, new byte[1]));

        Assert.True(scheduler.AllVerified);
        Assert.Equal(-1, scheduler.Next(idle: true));
    }

    [Fact]
    public void Verified_pieces_count_their_bytes_with_a_short_last_piece()
    {
        var verified = new VerifiedPieces((2 * Piece) + 10, new byte[1]);
        Assert.True(verified.Add(2));
        Assert.True(verified.Add(0));

        Assert.Equal(2, verified.Count);
        Assert.Equal(Piece + 10, verified.Bytes);
        Assert.Equal(0b101, verified.BitmapByteOf(2)[0]);
    }
}
