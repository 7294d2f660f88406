using P2PTransfer.Index;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;

namespace P2PTransfer.Tests.Index;

/// <summary>The names an index never shares: a download's partial files by default, or whatever rule the node supplies.</summary>
public sealed class IndexOptionsTests : IAsyncLifetime
{
    private readonly TestShare _share = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _share.DisposeAsync();

    [Fact]
    public async Task An_index_opened_without_a_node_never_shares_the_files_of_a_download_in_progress()
    {
        _share.Write("done.bin", "finished");
        _share.Write("big.bin.p2ppart", "data so far");
        _share.Write("sub/big.bin.P2PPART.Pieces", "record");
        var index = await _share.OpenAsync();

        Assert.Equal(["pub/done.bin"], index.GetFiles().Select(f => f.RelativePath));
    }

    [Fact]
    public async Task The_never_shared_rule_given_in_the_options_decides_which_names_are_skipped()
    {
        _share.Write("kept.txt", "k");
        _share.Write("held.lock", "l");
        _share.Write("big.bin.p2ppart", "not a download of this index's node");
        var index = await _share.OpenAsync(o => o.IsNeverShared = name => name.EndsWith(".lock", StringComparison.Ordinal));

        Assert.Equal(["pub/big.bin.p2ppart", "pub/kept.txt"], index.GetFiles().Select(f => f.RelativePath).Order());
    }

    [Theory]
    [InlineData("a.p2ppart")]
    [InlineData("a.p2ppart.pieces")]
    [InlineData("A.P2PPART")]
    [InlineData("a.P2PPart.PIECES")]
    [InlineData(".p2ppart")]
    [InlineData("a.bin")]
    [InlineData("a.p2ppart.bin")]
    [InlineData("a.p2ppar")]
    [InlineData("a.pieces")]
    [InlineData("a.p2ppart.pieces.old")]
    public void The_default_never_shared_names_are_exactly_the_partial_file_names_of_downloads(string name) =>
        Assert.Equal(PartialFile.IsPartialName(name), new IndexOptions().IsNeverShared(name));

    [Fact]
    public void Replacing_the_never_shared_rule_keeps_every_other_setting_and_leaves_the_given_options_alone()
    {
        Func<string, long, CancellationToken, Task> pieceRead = (_, _, _) => Task.CompletedTask;
        var given = new IndexOptions
        {
            Shares = ["x"],
            Exclude = ["*.tmp"],
            HashWorkers = 3,
            ReconcileInterval = TimeSpan.FromSeconds(7),
            ChangeDelay = TimeSpan.FromMilliseconds(5),
            PieceRead = pieceRead,
        };
        var defaultRule = given.IsNeverShared;

        var replaced = given.WithNeverShared(name => name == "n");

        Assert.True(replaced.IsNeverShared("n"));
        Assert.False(replaced.IsNeverShared("a.p2ppart"));
        Assert.Same(defaultRule, given.IsNeverShared);
        Assert.Equal(given.Shares, replaced.Shares);
        Assert.Equal(given.Exclude, replaced.Exclude);
        Assert.Equal(3, replaced.HashWorkers);
        Assert.Equal(TimeSpan.FromSeconds(7), replaced.ReconcileInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(5), replaced.ChangeDelay);
        Assert.Same(pieceRead, replaced.PieceRead);
    }
}
