using P2PTransfer.Index;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Index;

/// <summary>The names of a download in progress: an index never shares them, whoever opened it.</summary>
public sealed class PartialFileNamesTests : IAsyncLifetime
{
    private readonly TestShare _share = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _share.DisposeAsync();

    [Fact]
    public async Task An_index_never_shares_the_files_of_a_download_in_progress()
    {
        _share.Write("done.bin", "finished");
        _share.Write("big.bin.p2ppart", "data so far");
        _share.Write("sub/big.bin.P2PPART.Pieces", "record");
        var index = await _share.OpenAsync();

        Assert.Equal(["pub/done.bin"], index.GetFiles().Select(f => f.RelativePath));
    }

    [Theory]
    [InlineData("a.p2ppart", true)]
    [InlineData("a.p2ppart.pieces", true)]
    [InlineData("A.P2PPART", true)]
    [InlineData("a.P2PPart.PIECES", true)]
    [InlineData(".p2ppart", true)]
    [InlineData("a.bin", false)]
    [InlineData("a.p2ppart.bin", false)]
    [InlineData("a.p2ppar", false)]
    [InlineData("a.pieces", false)]
    [InlineData("a.p2ppart.pieces.old", false)]
    public void A_partial_name_ends_with_the_data_or_the_record_suffix_in_any_case(string name, bool partial) =>
        Assert.Equal(partial, PartialFileNames.IsPartialName(name));
}
