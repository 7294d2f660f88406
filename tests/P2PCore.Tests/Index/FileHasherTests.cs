using System.Security.Cryptography;
using P2PTransfer.Index;

namespace P2PTransfer.Tests.Index;

/// <summary>One read yields the file hash Get-FileHash prints and the piece hashes transfers verify against.</summary>
public sealed class FileHasherTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("p2pt-hash").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(FileDigest.PieceSize - 1)]
    [InlineData(FileDigest.PieceSize)]
    [InlineData(FileDigest.PieceSize + 1)]
    [InlineData((5 * FileDigest.PieceSize) / 2)]
    public async Task Digest_holds_the_content_hash_and_one_hash_per_piece(int size)
    {
        var content = new byte[size];
        new Random(size).NextBytes(content);
        var path = Path.Combine(_folder, "f.bin");
        await File.WriteAllBytesAsync(path, content);

        var digest = await FileHasher.HashAsync(path, size, File.GetLastWriteTimeUtc(path).Ticks, CancellationToken.None);

        Assert.Equal(SHA256.HashData(content), digest.Sha256);
        var pieces = content.Chunk(FileDigest.PieceSize).Select(SHA256.HashData).ToList();
        Assert.Equal(pieces.Count, FileDigest.PieceCount(size));
        Assert.Equal(pieces.SelectMany(p => p).ToArray(), digest.PieceHashes);
        Assert.Equal(SHA256.HashData([.. pieces.SelectMany(p => p)]), digest.PieceRoot);

        // What the index stores rebuilds the same digest.
        var stored = FileDigest.FromStored(size, digest.Sha256, digest.StoredPieces);
        Assert.Equal(digest.PieceHashes, stored.PieceHashes);
        Assert.Equal(digest.PieceRoot, stored.PieceRoot);
    }

    [Fact]
    public async Task A_file_that_is_not_the_size_it_was_found_with_is_reported_as_changed()
    {
        var path = Path.Combine(_folder, "g.bin");
        await File.WriteAllBytesAsync(path, new byte[3000]);
        await Assert.ThrowsAsync<FileChangedException>(() => FileHasher.HashAsync(path, 2000, null, CancellationToken.None));
        await Assert.ThrowsAsync<FileChangedException>(() => FileHasher.HashAsync(path, 4000, null, CancellationToken.None));
    }

    [Fact]
    public async Task A_same_size_rewrite_is_caught_by_the_last_write_time()
    {
        var path = Path.Combine(_folder, "h.bin");
        await File.WriteAllBytesAsync(path, new byte[3000]);
        var scanned = File.GetLastWriteTimeUtc(path).Ticks;
        File.SetLastWriteTimeUtc(path, new DateTime(scanned, DateTimeKind.Utc).AddSeconds(1));
        await Assert.ThrowsAsync<FileChangedException>(() => FileHasher.HashAsync(path, 3000, scanned, CancellationToken.None));
    }

    [Fact]
    public async Task Each_piece_read_is_reported_with_the_bytes_read_so_far_while_the_file_is_open()
    {
        const int size = (5 * FileDigest.PieceSize) / 2;
        var path = Path.Combine(_folder, "p.bin");
        await File.WriteAllBytesAsync(path, new byte[size]);
        var reads = new List<long>();

        await FileHasher.HashAsync(path, size, null, CancellationToken.None, (read, _) =>
        {
            reads.Add(read);

            // The hasher still has the file open: nothing may take it exclusively.
            Assert.Throws<IOException>(() => File.Open(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
            return Task.CompletedTask;
        });

        Assert.Equal([FileDigest.PieceSize, 2L * FileDigest.PieceSize, size], reads);
    }

    [Fact]
    public void A_stored_digest_rebuilds_the_same_piece_list()
    {
        var hash = SHA256.HashData("x"u8);
        var single = FileDigest.FromStored(1, hash, null);
        Assert.Equal(hash, single.PieceHashes);
        Assert.Null(single.StoredPieces);
    }
}
