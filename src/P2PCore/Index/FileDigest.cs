using System.Security.Cryptography;
using P2PTransfer.Protocol;

namespace P2PTransfer.Index;

/// <summary>
/// What one read of a file yields: its identity (SHA-256 of the content, as Get-FileHash prints it) and what a
/// download needs to verify pieces as they arrive: the SHA-256 of every piece of <see cref="PieceSize"/> bytes
/// (the last one shorter) and the piece root, the SHA-256 of the piece hashes laid end to end.
/// A file of one piece has the file hash as its only piece hash.
/// </summary>
internal sealed class FileDigest
{
    /// <summary>Piece size of protocol version 1: 1 MiB.</summary>
    public const int PieceSize = ProtocolLimits.PieceSize;

    public const int HashSize = 32;

    private byte[]? _pieceRoot;

    public FileDigest(long size, byte[] sha256, byte[] pieceHashes)
    {
        if (sha256.Length != HashSize || pieceHashes.Length != PieceCount(size) * HashSize)
        {
            throw new ArgumentException("digest sizes do not match the file size");
        }

        Size = size;
        Sha256 = sha256;
        PieceHashes = pieceHashes;
    }

    public long Size { get; }

    public byte[] Sha256 { get; }

    /// <summary>The piece hashes laid end to end, 32 bytes each.</summary>
    public byte[] PieceHashes { get; }

    /// <summary>SHA-256 of <see cref="PieceHashes"/>, computed when first asked for (storing a digest): a lookup that only serves the file has no use for it.</summary>
    public byte[] PieceRoot => _pieceRoot ??= SHA256.HashData(PieceHashes);

    public string Hash => Convert.ToHexString(Sha256);

    public static int PieceCount(long size) => checked((int)((size + PieceSize - 1) / PieceSize));

    /// <summary>The digest of the empty file, known without reading it.</summary>
    public static FileDigest Empty { get; } = new(0, SHA256.HashData([]), []);

    /// <summary>Rebuilds a digest from the index: files of one piece (or none) store no separate piece list.</summary>
    public static FileDigest FromStored(long size, byte[] sha256, byte[]? pieces) => PieceCount(size) switch
    {
        0 => new(size, sha256, []),
        1 => new(size, sha256, sha256),
        _ => new(size, sha256, pieces ?? throw new InvalidDataException("piece hashes missing")),
    };

    /// <summary>The piece list worth storing: none when it is just the file hash again.</summary>
    public byte[]? StoredPieces => PieceCount(Size) <= 1 ? null : PieceHashes;
}
