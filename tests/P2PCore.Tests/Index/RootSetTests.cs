using P2PTransfer.Index;

namespace P2PTransfer.Tests.Index;

/// <summary>How published roots and unpublished paths overlap, on the root set alone (no files, no database).</summary>
public sealed class RootSetTests
{
    private static readonly string Base = Path.GetFullPath(Path.Combine(Path.GetTempPath(), "p2pt-rootset"));

    private static string P(params string[] parts) => Path.Combine([Base, .. parts]);

    [Fact]
    public void A_requested_path_inside_another_requested_folder_adds_nothing_and_repeats_count_once()
    {
        var wanted = RootSet.Wanted([(P("a"), false), (P("a", "b"), false), (P("a", "c.txt"), true), (P("d", "f.txt"), true), (P("a"), false), (P("ab"), false)]);

        Assert.Equal([(P("a"), false), (P("d", "f.txt"), true), (P("ab"), false)], wanted);
    }

    [Fact]
    public void Roots_no_longer_wanted_are_taken_over_by_a_wanted_folder_that_holds_them_or_else_dropped()
    {
        var innerFolder = new ShareRoot(1, P("a", "b"), false);
        var elsewhere = new ShareRoot(2, P("c"), false);
        var innerFile = new ShareRoot(3, P("a", "x.txt"), true);
        var keptFolder = new ShareRoot(4, P("d"), false);
        var keptFile = new ShareRoot(5, P("e.txt"), true);
        var insideKeptFile = new ShareRoot(6, P("e.txt", "y"), false);
        var set = new RootSet([innerFolder, elsewhere, innerFile, keptFolder, keptFile, insideKeptFile], []);
        List<(string, bool)> wanted = [(P("a"), false), (P("d"), false), (P("e.txt"), true)];

        Assert.Equal([(P("a"), false)], set.Missing(wanted));

        var added = new ShareRoot(7, P("a"), false);
        Assert.Equal(
            [(innerFolder, added), (elsewhere, null), (innerFile, added), (insideKeptFile, null)],
            set.With(added).Unwanted(wanted));
    }

    [Fact]
    public void A_path_is_found_in_the_root_that_shares_it_and_an_unpublished_path_above_it_is_named()
    {
        var folder = new ShareRoot(1, P("a"), false);
        var file = new ShareRoot(2, P("f.txt"), true);
        var set = new RootSet([folder, file], [P("a", "private")]);

        Assert.Equal(folder, set.ContainerOf(P("a", "x", "y.txt")));
        Assert.Equal(folder, set.ContainerOf(P("a")));
        Assert.Equal(file, set.ContainerOf(P("f.txt")));
        Assert.Null(set.ContainerOf(P("ab", "y.txt")));

        Assert.Equal(P("a", "private"), set.ExcludedAbove(P("a", "private", "diary.txt")));
        Assert.Null(set.ExcludedAbove(P("a", "private")));
        Assert.Null(set.ExcludedAbove(P("a", "privateer", "x")));
    }

    [Fact]
    public void The_roots_and_unpublished_paths_inside_a_path_are_those_it_is_or_holds()
    {
        var set = new RootSet(
            [new ShareRoot(1, P("a"), false), new ShareRoot(2, P("a", "b"), false), new ShareRoot(3, P("ab"), false), new ShareRoot(4, P("a", "f.txt"), true)],
            [P("a", "b", "x"), P("ab", "y"), P("a")]);

        Assert.Equal([1L, 2, 4], set.RootsInside(P("a")).Select(r => r.Id));
        Assert.Equal([2L], set.RootsInside(P("a", "b")).Select(r => r.Id));
        Assert.Equal([P("a"), P("a", "b", "x")], set.ExcludedInside(P("a")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_file_below_an_unpublished_path_or_of_a_dropped_root_is_no_longer_shared()
    {
        var set = new RootSet([new ShareRoot(1, P("a"), false)], [P("a", "private")]);

        Assert.True(set.StillShares(1, P("a", "public", "x.txt")));
        Assert.True(set.StillShares(1, P("a", "privateer.txt")));
        Assert.False(set.StillShares(1, P("a", "private", "x.txt")));
        Assert.False(set.StillShares(2, P("b", "x.txt")));
        Assert.False(set.Without(set.ById[1]).StillShares(1, P("a", "public", "x.txt")));
    }

    [Fact]
    public void Changed_paths_give_one_scope_per_part_of_a_root_and_a_folder_scope_covers_the_paths_below_it()
    {
        var folder = new ShareRoot(1, P("a"), false);
        var file = new ShareRoot(2, P("b", "f.txt"), true);
        var set = new RootSet([folder, file], []);

        var scopes = set.ChangedScopes([P("a", "x", "y.txt"), P("a", "x"), P("a", "xy.txt"), P("a", "x", "z", "w.txt"), P("b", "f.txt"), P("b", "other.txt"), P("c", "q.txt"), P("a", "xy.txt")]);

        Assert.Equal([(folder, "x"), (folder, "xy.txt"), (file, string.Empty)], scopes);
        Assert.Equal([(folder, string.Empty)], set.ChangedScopes([P("a", "x", "y.txt"), P("a")]));
    }

    [Fact]
    public void Local_paths_cover_a_whole_root_they_hold_or_the_part_of_a_folder_below_them()
    {
        var folder = new ShareRoot(1, P("a"), false);
        var file = new ShareRoot(2, P("a", "b", "f.txt"), true);
        var set = new RootSet([folder, file], []);

        Assert.Equal([(folder, "b"), (file, string.Empty)], set.ScopesOf([P("a", "b")]));
        Assert.Equal([(folder, string.Empty), (file, string.Empty)], set.ScopesOf([Base]));
        Assert.Equal([(folder, "c.txt")], set.ScopesOf([P("a", "c.txt")]));
        Assert.Empty(set.ScopesOf([P("z")]));
    }

    [Fact]
    public void A_change_makes_a_new_set_and_leaves_the_one_readers_hold_as_it_was()
    {
        var first = new ShareRoot(1, P("a"), false);
        var set = new RootSet([first], [P("a", "x")]);

        var added = set.With(new ShareRoot(2, P("b"), false)).WithExcluded(P("a", "y"), excluded: true).WithExcluded(P("a", "x"), excluded: false);

        Assert.Equal([1L], set.All.Select(r => r.Id));
        Assert.Equal([P("a", "x")], set.ExcludedPaths);
        Assert.Equal([1L, 2], added.All.Select(r => r.Id));
        Assert.Equal([1L, 2], added.ById.Keys.Order());
        Assert.Equal([P("a", "y")], added.ExcludedPaths);
        Assert.Equal([2L], added.Without(first).ById.Keys);
    }
}
