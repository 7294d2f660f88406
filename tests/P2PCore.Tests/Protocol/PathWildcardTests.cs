using P2PTransfer.Protocol;

namespace P2PTransfer.Tests.Protocol;

/// <summary>What a path wildcard matches: one name per segment, '**' across folders, a folder brings what is below it.</summary>
public class PathWildcardTests
{
    [Theory]
    [InlineData("share1/sub/*", "share1/sub/one.txt")]
    [InlineData("share1/sub/*", "share1/sub/deeper/two.txt")]
    [InlineData("share1/sub", "share1/sub/deeper/two.txt")]
    [InlineData("share1/sub/", "share1/sub/one.txt")]
    [InlineData("/share1//sub", "share1/sub/one.txt")]
    [InlineData(@"share1\sub\*.txt", "share1/sub/one.txt")]
    [InlineData("SHARE1/SUB/ONE.TXT", "share1/sub/one.txt")]
    [InlineData("share1/sub/*.txt", "share1/sub/one.txt")]
    [InlineData("share1/s?b/[o]ne.*", "share1/sub/one.txt")]
    [InlineData("share1/**/two.txt", "share1/sub/deeper/two.txt")]
    [InlineData("share1/**/one.txt", "share1/sub/one.txt")]
    [InlineData("share1/**/a.txt", "share1/a.txt")]
    [InlineData("**/two.txt", "share1/sub/deeper/two.txt")]
    [InlineData("*/sub/**", "share1/sub/deeper/two.txt")]
    [InlineData("single.bin", "single.bin")]
    [InlineData("*", "share1/sub/deeper/two.txt")]
    [InlineData("s*/`[x`]/*", "share1/[x]/y")]
    public void A_path_wildcard_matches(string pattern, string relativePath) =>
        Assert.True(PathWildcard.Parse(pattern).IsMatch(relativePath));

    [Theory]
    [InlineData("share1/sub/*.txt", "share1/sub/deeper/two.txt")]
    [InlineData("share1/*", "other/sub/one.txt")]
    [InlineData("share1/*.txt", "share1/sub/one.txt")]
    [InlineData("share1/sub/one", "share1/sub/one.txt")]
    [InlineData("share1/su", "share1/sub/one.txt")]
    [InlineData("share1/sub/one.txt/more", "share1/sub/one.txt")]
    [InlineData("**/three.txt", "share1/sub/deeper/two.txt")]
    [InlineData("share1/**/deeper", "share1/deeper.txt")]
    [InlineData("sub/*", "share1/sub/one.txt")]
    public void A_star_never_crosses_a_folder_and_a_path_is_matched_from_its_shared_folder(string pattern, string relativePath) =>
        Assert.False(PathWildcard.Parse(pattern).IsMatch(relativePath));

    [Fact]
    public void Star_or_double_star_alone_matches_every_path_and_is_dropped_from_a_query()
    {
        Assert.True(PathWildcard.Parse("*").MatchesEverything);
        Assert.True(PathWildcard.Parse("**/**").MatchesEverything);
        Assert.False(PathWildcard.Parse("*/*").MatchesEverything);
        Assert.Empty(new FileQuery { Paths = ["photos/*", "**"] }.Compile().Paths);
    }

    [Fact]
    public void The_first_segment_tells_which_shared_folders_can_hold_a_match()
    {
        Assert.True(PathWildcard.Parse("share?/x").MayMatchBelow("SHARE1"));
        Assert.False(PathWildcard.Parse("share?/x").MayMatchBelow("other"));
        Assert.True(PathWildcard.Parse("**/x").MayMatchBelow("other"));
    }

    [Theory]
    [InlineData("/", "names no folder or file")]
    [InlineData("//", "names no folder or file")]
    [InlineData("photos/[2024", "'[' without its ']'")]
    [InlineData("", "path pattern is empty")]
    public void A_path_pattern_that_names_nothing_or_does_not_parse_is_a_clear_error(string pattern, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new FileQuery { Paths = [pattern] }.Validate());
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_name_with_a_folder_is_refused_with_a_pointer_to_paths()
    {
        var error = Assert.Throws<ArgumentException>(() => new FileQuery { Names = ["sub/*"] }.Validate());
        Assert.Contains("use -Path 'sub/*'", error.Message);
        new FileQuery { Names = [@"back\slash*"] }.Validate();
    }

    [Fact]
    public void Too_many_or_too_long_paths_are_refused()
    {
        Assert.Contains("at most 8 paths", Assert.Throws<ArgumentException>(() => new FileQuery { Paths = [.. Enumerable.Repeat("a/*", FileQuery.MaxPaths + 1)] }.Validate()).Message);
        Assert.Contains("limit is 1024", Assert.Throws<ArgumentException>(() => new FileQuery { Paths = [new string('a', FileQuery.MaxPathLength + 1)] }.Validate()).Message);
        new FileQuery { Paths = [.. Enumerable.Repeat(new string('a', FileQuery.MaxPathLength), FileQuery.MaxPaths)] }.Validate();
    }

    [Fact]
    public void A_segment_built_to_backtrack_is_matched_in_one_pass_over_the_name()
    {
        // '*a' sixteen times then 'b', over 255 a's: a backtracking matcher tries ~255^16 ways and hits its timeout.
        var hostile = PathWildcard.Parse("pub/" + string.Concat(Enumerable.Repeat("*a", 16)) + "*b");

        Assert.False(hostile.IsMatch("pub/" + new string('a', 255)));
        Assert.True(hostile.IsMatch("pub/" + new string('a', 255) + "b"));
    }

    [Fact]
    public void Many_double_stars_over_a_deep_path_are_matched_name_by_name_without_backtracking()
    {
        // Backtracking over 200 '**' and 500 folders would not end; the matcher walks segments × names once.
        var deep = string.Join('/', Enumerable.Repeat("d", 500)) + "/x";
        var stars = string.Join('/', Enumerable.Repeat("**", 200));

        Assert.False(PathWildcard.Parse(stars + "/y").IsMatch(deep));
        Assert.True(PathWildcard.Parse(stars + "/x").IsMatch(deep));
        Assert.True(PathWildcard.Parse(stars + "/d/d").IsMatch(deep));
    }
}
