using System.Security.Cryptography;
using P2PTransfer.Index;
using P2PTransfer.Protocol;

namespace P2PTransfer.Tests.Index;

/// <summary>The index database on its own: what is hashed is searchable at once, and progress counts files and bytes.</summary>
public sealed class IndexDatabaseTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("p2pt-db").FullName;
    private readonly IndexDatabase _db;

    public IndexDatabaseTests() => _db = IndexDatabase.Open(Path.Combine(_folder, "index.db"), _ => { });

    public void Dispose()
    {
        _db.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void A_file_is_searchable_as_soon_as_its_hash_is_stored_and_progress_counts_files_and_bytes()
    {
        var root = _db.AddRoot(Path.Combine(_folder, "pub"), isFile: false);
        DiskFile[] files = [.. new[] { 100L, 200L, 300L }.Select(size => new DiskFile($"f{size}.bin", Path.Combine(_folder, "pub", $"f{size}.bin"), size, 1))];
        _db.ApplyChanges(root.Id, files, [], [], []);

        Assert.Equal(new IndexProgress(3, 600, 3, 600, 0), _db.GetProgress());
        Assert.Empty(_db.Search(FileQuery.All.Compile(), new Dictionary<long, ShareRoot>(), int.MaxValue, CancellationToken.None));

        var first = _db.LoadPending(0, 10).Single(p => p.StoredPath == "f200.bin");
        var sha = SHA256.HashData("200"u8);
        Assert.Equal([first.Id], _db.StoreResults([new HashOutcome(first.Id, 200, 1, new FileDigest(200, sha, sha), null)]));

        Assert.Equal(new IndexProgress(3, 600, 2, 400, 0), _db.GetProgress());
        var found = Assert.Single(_db.Search(FileQuery.All.Compile(), new Dictionary<long, ShareRoot>(), int.MaxValue, CancellationToken.None));
        Assert.Equal("f200.bin", found.StoredPath);
        Assert.Equal(sha, found.Sha256);

        // A result for a file that changed since it was fed (another size) is not stored.
        var second = _db.LoadPending(0, 10).First();
        Assert.Empty(_db.StoreResults([new HashOutcome(second.Id, second.Size + 1, 1, new FileDigest(second.Size + 1, sha, sha), null)]));
    }
}
