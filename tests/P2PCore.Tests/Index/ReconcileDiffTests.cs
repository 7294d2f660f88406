using P2PTransfer.Index;

namespace P2PTransfer.Tests.Index;

/// <summary>The comparison of index rows with a scan's files, on in-memory listings.</summary>
public sealed class ReconcileDiffTests
{
    private static DiskFile Disk(string storedPath, long size, long modified) => new(storedPath, "/share/" + storedPath, size, modified);

    private static Dictionary<string, StoredFile> Rows(params (string Path, StoredFile Row)[] rows) =>
        rows.ToDictionary(r => r.Path, r => r.Row, StringComparer.Ordinal);

    [Fact]
    public void A_found_file_is_new_changed_unchanged_retried_or_left_to_the_hash_feeder_as_its_row_says()
    {
        var diff = new ReconcileDiff(Rows(
            ("same.txt", new StoredFile(1, 10, 100, SharedFileState.Ready)),
            ("grown.txt", new StoredFile(2, 10, 100, SharedFileState.Ready)),
            ("touched.txt", new StoredFile(3, 10, 100, SharedFileState.Ready)),
            ("bad.txt", new StoredFile(4, 10, 100, SharedFileState.Unreadable)),
            ("bad-changed.txt", new StoredFile(5, 10, 100, SharedFileState.Unreadable)),
            ("half.txt", new StoredFile(6, 10, 100, SharedFileState.Hashing)),
            ("gone.txt", new StoredFile(7, 10, 100, SharedFileState.Ready))));
        var added = Disk("new.txt", 5, 100);
        var grown = Disk("grown.txt", 11, 100);
        var touched = Disk("touched.txt", 10, 101);
        var badChanged = Disk("bad-changed.txt", 0, 100);

        foreach (var file in new[] { Disk("same.txt", 10, 100), grown, touched, Disk("bad.txt", 10, 100), badChanged, added })
        {
            diff.Compare(file);
        }

        Assert.Equal(5, diff.Pending);
        Assert.Equal(1, diff.Unchanged);
        Assert.False(diff.HashingInterrupted);
        var batch = diff.TakeBatch();
        Assert.Equal([added], batch.Added);
        Assert.Equal([(2L, grown), (3L, touched), (5L, badChanged)], batch.Changed);
        Assert.Equal([4L], batch.Retry);
        Assert.Equal(0, diff.Pending);

        diff.Compare(Disk("half.txt", 10, 100));
        Assert.True(diff.HashingInterrupted);
        Assert.Equal(0, diff.Pending);
        Assert.Equal(1, diff.Unmatched);
        Assert.Equal([7L], diff.Vanished([]));
    }

    [Fact]
    public void Rows_no_file_was_found_for_have_vanished_except_below_a_folder_that_could_not_be_read()
    {
        var rows = Rows(
            ("a/x.txt", new StoredFile(1, 1, 1, SharedFileState.Ready)),
            ("a/b/y.txt", new StoredFile(2, 1, 1, SharedFileState.Ready)),
            ("ab/z.txt", new StoredFile(3, 1, 1, SharedFileState.Ready)),
            ("a", new StoredFile(4, 1, 1, SharedFileState.Ready)),
            ("c.txt", new StoredFile(5, 1, 1, SharedFileState.Hashing)));

        Assert.Equal([1L, 2, 3, 4, 5], new ReconcileDiff(new(rows)).Vanished([]).Order());
        Assert.Equal([3L, 4, 5], new ReconcileDiff(new(rows)).Vanished(["a"]).Order());
        Assert.Equal([1L, 3, 4, 5], new ReconcileDiff(new(rows)).Vanished(["a/b"]).Order());
        Assert.Empty(new ReconcileDiff(new(rows)).Vanished([string.Empty]));
    }

    [Fact]
    public void A_batch_holds_the_changes_found_before_it_was_taken_and_later_ones_go_to_the_next()
    {
        var diff = new ReconcileDiff(Rows());
        var first = Disk("1.txt", 1, 1);
        var second = Disk("2.txt", 1, 1);

        diff.Compare(first);
        var taken = diff.TakeBatch();
        diff.Compare(second);

        Assert.Equal([first], taken.Added);
        Assert.Equal(1, taken.Count);
        Assert.Equal([second], diff.TakeBatch().Added);
        Assert.Equal(0, diff.TakeBatch().Count);
    }
}
