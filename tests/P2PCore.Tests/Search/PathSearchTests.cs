using P2PTransfer.Index;
using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Search;

/// <summary>Searches on the relative path other nodes see, against a real index over two shared folders and a shared file.</summary>
public sealed class PathSearchTests : IAsyncLifetime
{
    private readonly TestShare _share = new();
    private ShareIndex _index = null!;

    public async Task InitializeAsync()
    {
        // The shared folder 'pub' (TestShare's), a second one 'Photos', and one shared file 'single.bin'.
        _share.Write("a.txt", "top");
        _share.Write("sub/one.txt", "one");
        _share.Write("sub/a.txt", "a below sub");
        _share.Write("sub/deeper/two.txt", "two");
        _share.Write("subway/three.txt", "three");
        var photos = Path.Combine(_share.Root, "Photos");
        Directory.CreateDirectory(Path.Combine(photos, "2024"));
        File.WriteAllText(Path.Combine(photos, "2024", "Beach.JPG"), "jpeg");
        File.WriteAllText(Path.Combine(photos, "cover.jpg"), "cover");
        var single = Path.Combine(_share.Root, "single.bin");
        File.WriteAllText(single, "single");
        _index = await _share.OpenAsync(options => options.Shares = [_share.Folder, photos, single]);
    }

    public async Task DisposeAsync() => await _share.DisposeAsync();

    private List<string> Paths(FileQuery query, int max = int.MaxValue) =>
        [.. _index.Search(query, max).Select(f => f.RelativePath).Order(StringComparer.Ordinal)];

    [Fact]
    public void A_folder_pattern_finds_every_file_below_that_folder_and_nothing_beside_it()
    {
        string[] sub = ["pub/sub/a.txt", "pub/sub/deeper/two.txt", "pub/sub/one.txt"];
        Assert.Equal(sub, Paths(new FileQuery { Paths = ["pub/sub/*"] }));
        Assert.Equal(sub, Paths(new FileQuery { Paths = ["pub/sub"] }));
        Assert.Equal(sub, Paths(new FileQuery { Paths = ["PUB/SUB/"] }));
    }

    [Fact]
    public void A_star_stays_within_one_folder_and_double_star_spans_folders()
    {
        Assert.Equal(["pub/sub/a.txt", "pub/sub/one.txt"], Paths(new FileQuery { Paths = ["pub/sub/*.txt"] }));
        Assert.Equal(["pub/a.txt", "pub/sub/a.txt"], Paths(new FileQuery { Paths = ["pub/**/a.txt"] }));
        Assert.Equal(["Photos/2024/Beach.JPG", "Photos/cover.jpg"], Paths(new FileQuery { Paths = ["**/*.jpg"] }));
        Assert.Equal(["Photos/2024/Beach.JPG"], Paths(new FileQuery { Paths = ["*/2024/*"] }));
    }

    [Fact]
    public void Paths_combine_with_the_other_criteria_and_any_of_several_paths_matches()
    {
        Assert.Equal(["pub/sub/a.txt"], Paths(new FileQuery { Paths = ["pub/sub"], Names = ["a.*"] }));
        Assert.Equal(["Photos/cover.jpg", "single.bin"], Paths(new FileQuery { Paths = ["single.bin", "photos/cover.jpg"] }));
        Assert.Single(Paths(new FileQuery { Paths = ["pub/sub"] }, max: 1));
    }

    [Fact]
    public void A_path_whose_first_segment_names_no_shared_folder_finds_nothing()
    {
        Assert.Empty(Paths(new FileQuery { Paths = ["sub/*"] }));
        Assert.Empty(Paths(new FileQuery { Paths = ["nothing/**"] }));
        Assert.Equal(8, Paths(new FileQuery { Paths = ["*"] }).Count);
    }
}
