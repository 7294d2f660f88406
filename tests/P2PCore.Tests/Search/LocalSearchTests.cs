using System.Security.Cryptography;
using P2PTransfer.Index;
using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>Every search criterion, and combinations, against a real index over real files.</summary>
public sealed class LocalSearchTests : IAsyncLifetime
{
    private readonly TestShare _share = new();
    private ShareIndex _index = null!;

    public async Task InitializeAsync()
    {
        _share.Write("Report-2024.PDF", new byte[1000]);
        _share.Write("docs/report-2023.pdf", new byte[5000]);
        _share.Write("docs/notes.txt", "hello");
        _share.Write("music/track01.mp3", new byte[20_000]);
        _share.Write("music/track02.MP3", new byte[30_000]);
        _share.Write("odd/a[1].txt", "bracket");
        _share.Write("odd/star*name.txt", "star");
        _share.Write("odd/abcd-bcde.txt", "trigrams of abcde, but not abcde");
        _share.Write("odd/noext", "none");
        _share.Write("odd/" + new string('a', 60) + "!", "a long name for a hostile pattern");
        _index = await _share.OpenAsync();
    }

    public async Task DisposeAsync() => await _share.DisposeAsync();

    private List<string> Names(FileQuery query, int max = int.MaxValue) =>
        [.. _index.Search(query, max).Select(f => f.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public void Name_wildcards_ignore_case()
    {
        Assert.Equal(["Report-2024.PDF", "report-2023.pdf"], Names(new FileQuery { Names = ["*.pdf"] }));
        Assert.Equal(["Report-2024.PDF", "report-2023.pdf"], Names(new FileQuery { Names = ["REPORT*"] }));
        Assert.Equal(["track01.mp3", "track02.MP3"], Names(new FileQuery { Names = ["track0?.mp3"] }));
        Assert.Equal(["track01.mp3"], Names(new FileQuery { Names = ["track0[1].mp3"] }));
        Assert.Equal(["track01.mp3", "track02.MP3"], Names(new FileQuery { Names = ["TRACK0[0-9].*"] }));
    }

    [Fact]
    public void No_name_or_star_matches_every_hashed_file()
    {
        Assert.Equal(10, Names(FileQuery.All).Count);
        Assert.Equal(10, Names(new FileQuery { Names = ["*"] }).Count);
    }

    [Fact]
    public void Several_names_match_a_file_matching_any_of_them()
    {
        Assert.Equal(["notes.txt", "track01.mp3"], Names(new FileQuery { Names = ["notes.*", "*01*"] }));
        Assert.Equal(["track01.mp3", "track02.MP3"], Names(new FileQuery { Names = ["*.mp3", "track01*"] }));
        Assert.Equal(2, Names(new FileQuery { Names = ["*.mp3", "track01*"] }, max: 2).Count);
    }

    [Fact]
    public void Escaped_wildcard_characters_match_themselves()
    {
        Assert.Equal(["a[1].txt"], Names(new FileQuery { Names = ["a`[1`].txt"] }));
        Assert.Equal(["star*name.txt"], Names(new FileQuery { Names = ["*`**"] }));
    }

    [Fact]
    public void A_name_holding_every_trigram_of_a_pattern_but_not_the_pattern_does_not_match()
    {
        Assert.Empty(Names(new FileQuery { Names = ["*abcde*"] }));
        Assert.Equal(["abcd-bcde.txt"], Names(new FileQuery { Names = ["*abcd-*"] }));
    }

    [Fact]
    public void Regular_expression_matches_the_name_without_regard_to_case()
    {
        Assert.Equal(["Report-2024.PDF", "report-2023.pdf"], Names(new FileQuery { Pattern = @"^report-\d{4}\.pdf$" }));
        Assert.Equal(["track01.mp3", "track02.MP3"], Names(new FileQuery { Pattern = "MP3$" }));
    }

    [Fact]
    public void A_regular_expression_that_runs_too_long_fails_clearly_instead_of_hanging()
    {
        var started = DateTime.UtcNow;
        var error = Assert.Throws<ArgumentException>(() => Names(new FileQuery { Pattern = "^(a+)+$" }));
        Assert.Contains("took longer than", error.Message);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void An_invalid_regular_expression_is_a_clear_error()
    {
        var error = Assert.Throws<ArgumentException>(() => Names(new FileQuery { Pattern = "([a-" }));
        Assert.Contains("not a valid regular expression", error.Message);
    }

    [Fact]
    public void Extensions_are_written_any_common_way_and_any_of_them_matches()
    {
        Assert.Equal(["track01.mp3", "track02.MP3"], Names(new FileQuery { Extensions = ["MP3"] }));
        Assert.Equal(["track01.mp3", "track02.MP3"], Names(new FileQuery { Extensions = [".mp3"] }));
        Assert.Equal(4, Names(new FileQuery { Extensions = ["*.pdf", "mp3", "nothing"] }).Count);
        Assert.Throws<ArgumentException>(() => Names(new FileQuery { Extensions = ["p*f"] }));
        Assert.Contains("last dot", Assert.Throws<ArgumentException>(() => Names(new FileQuery { Extensions = ["tar.gz"] })).Message);
    }

    [Fact]
    public void Size_range_is_inclusive_on_both_ends()
    {
        Assert.Equal(["track01.mp3", "track02.MP3"], Names(new FileQuery { MinSize = 20_000 }));
        Assert.Equal(["report-2023.pdf", "track01.mp3"], Names(new FileQuery { MinSize = 5000, MaxSize = 20_000 }));
        Assert.Equal(["notes.txt", "star*name.txt"], Names(new FileQuery { MaxSize = 5, Extensions = ["txt"] }));
        Assert.Throws<ArgumentException>(() => Names(new FileQuery { MinSize = 10, MaxSize = 5 }));
    }

    [Fact]
    public void Hash_finds_exactly_the_files_with_that_content_in_either_case()
    {
        var hash = Convert.ToHexString(SHA256.HashData(new byte[20_000]));
        Assert.Equal(["track01.mp3"], Names(new FileQuery { Hash = hash }));
        Assert.Equal(["track01.mp3"], Names(new FileQuery { Hash = hash.ToLowerInvariant() }));
        Assert.Empty(Names(new FileQuery { Hash = new string('0', 64) }));
        var error = Assert.Throws<ArgumentException>(() => Names(new FileQuery { Hash = "abc" }));
        Assert.Contains("64 hex digits", error.Message);
    }

    [Fact]
    public void All_criteria_given_must_hold()
    {
        Assert.Equal(["report-2023.pdf"], Names(new FileQuery { Names = ["*report*"], Extensions = ["pdf"], MinSize = 2000 }));
        Assert.Equal(["report-2023.pdf"], Names(new FileQuery { Names = ["*report*"], Pattern = "2023" }));
        Assert.Equal(["track02.MP3"], Names(new FileQuery { Pattern = "02", Extensions = ["mp3"], MaxSize = 40_000 }));
        Assert.Empty(Names(new FileQuery { Names = ["track*"], Hash = Convert.ToHexString(SHA256.HashData(new byte[1000])) }));
    }

    [Fact]
    public void Results_stop_at_the_maximum_asked_for()
    {
        Assert.Equal(3, Names(FileQuery.All, max: 3).Count);
        Assert.Single(Names(new FileQuery { Pattern = "." }, max: 1));
    }

    [Fact]
    public void Results_carry_the_path_other_nodes_see_and_the_content_hash()
    {
        var hit = Assert.Single(_index.Search(new FileQuery { Names = ["notes.txt"] }));
        Assert.Equal("pub/docs/notes.txt", hit.RelativePath);
        Assert.Equal(5, hit.Size);
        Assert.Equal(Convert.ToHexString(SHA256.HashData("hello"u8)), hit.Hash);
        Assert.Equal(Path.Combine(_share.Folder, "docs", "notes.txt"), hit.FullName);
    }

    [Fact]
    public void Oversized_or_too_many_criteria_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Names(new FileQuery { Names = [new string('x', FileQuery.MaxNameLength + 1)] }));
        Assert.Throws<ArgumentException>(() => Names(new FileQuery { Names = [.. Enumerable.Repeat("a*", FileQuery.MaxNames + 1)] }));
        Assert.Throws<ArgumentException>(() => Names(new FileQuery { Pattern = new string('a', FileQuery.MaxPatternLength + 1) }));
        Assert.Throws<ArgumentException>(() => Names(new FileQuery { Names = ["[abc"] }));
    }
}
