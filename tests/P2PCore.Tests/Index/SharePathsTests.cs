using P2PTransfer.Index;

namespace P2PTransfer.Tests.Index;

/// <summary>What may be shared, and the rules of stored paths.</summary>
public sealed class SharePathsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("p2pt-paths").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_stored_path_is_below_a_folder_scope_only_past_a_separator_and_every_path_is_below_the_whole_root()
    {
        Assert.True(SharePaths.IsBelow("a", "a/b.txt"));
        Assert.True(SharePaths.IsBelow("a/b", "a/b/c/d.txt"));
        Assert.False(SharePaths.IsBelow("a", "a"));
        Assert.False(SharePaths.IsBelow("a", "ab/c.txt"));
        Assert.False(SharePaths.IsBelow("a", "A/b.txt"));
        Assert.True(SharePaths.IsBelow(string.Empty, "x.txt"));
    }

    [Fact]
    public void Shareable_paths_come_back_full_and_say_whether_each_is_a_file()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, "pub")).FullName;
        var file = Path.Combine(folder, "f.txt");
        File.WriteAllText(file, "f");

        var shareable = SharePaths.CheckShareable([folder + Path.DirectorySeparatorChar, Path.Combine(folder, ".", "f.txt")], Path.Combine(_root, "state"));

        Assert.Equal([(folder, false), (file, true)], shareable);
    }

    [Fact]
    public void A_path_that_is_missing_or_holds_or_lies_in_the_state_folder_cannot_be_shared()
    {
        var state = Directory.CreateDirectory(Path.Combine(_root, "state")).FullName;
        var inside = Directory.CreateDirectory(Path.Combine(state, "inner")).FullName;
        var missing = Path.Combine(_root, "missing");

        var notFound = Assert.Throws<FileNotFoundException>(() => SharePaths.CheckShareable([missing], state));
        Assert.Equal($"cannot share '{missing}': no such file or folder", notFound.Message);
        foreach (var path in new[] { _root, state, inside })
        {
            var refused = Assert.Throws<ArgumentException>(() => SharePaths.CheckShareable([path], state));
            Assert.Equal($"cannot share '{path}': it holds the node's state folder '{state}', and nothing is ever written into a shared folder", refused.Message);
        }
    }
}
