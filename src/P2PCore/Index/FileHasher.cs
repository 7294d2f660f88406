using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace P2PTransfer.Index;

/// <summary>
/// Computes a <see cref="FileDigest"/> in one sequential read. For files of more than one piece, the whole-file
/// hash and the piece hashes run side by side on two threads over the same buffer, so the wall time stays that of
/// one SHA-256 pass.
/// </summary>
internal static class FileHasher
{
    /// <summary>
    /// Hashes the file; throws <see cref="FileChangedException"/> (without opening it) if it is no longer a regular
    /// file, if it is not <paramref name="expectedSize"/> bytes long, or if its last-write time is not
    /// <paramref name="expectedModified"/> (UTC ticks; null to skip) before and after the read, which catches same-size
    /// rewrites. <paramref name="pieceRead"/>, if given, is awaited after each piece is read, with the bytes read so
    /// far, while the file is still open.
    /// </summary>
    public static async Task<FileDigest> HashAsync(string path, long expectedSize, long? expectedModified, CancellationToken cancellationToken, Func<long, CancellationToken, Task>? pieceRead = null)
    {
        if (!RegularFile.Is(path))
        {
            // Never opened: a named pipe would block its reader. (The scan found a regular file here; it was replaced.)
            throw new FileChangedException($"'{path}' is not a regular file any more");
        }

        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        EnsureUnchanged(handle, expectedModified, path);
        var pieces = FileDigest.PieceCount(expectedSize);
        var pieceHashes = new byte[pieces * FileDigest.HashSize];
        var buffers = new[] { ArrayPool<byte>.Shared.Rent(FileDigest.PieceSize), ArrayPool<byte>.Shared.Rent(FileDigest.PieceSize) };
        try
        {
            if (pieces == 0)
            {
                // An empty file: its identity is the SHA-256 of nothing, and it has no pieces.
                EnsureEnd(handle, expectedSize, path);
                EnsureUnchanged(handle, expectedModified, path);
                return FileDigest.Empty;
            }

            if (pieces == 1)
            {
                var length = Read(handle, buffers[0], 0, expectedSize);
                SHA256.HashData(buffers[0].AsSpan(0, length), pieceHashes);
                if (pieceRead is not null)
                {
                    await pieceRead(length, cancellationToken).ConfigureAwait(false);
                }

                EnsureEnd(handle, expectedSize, path);
                EnsureUnchanged(handle, expectedModified, path);
                return new FileDigest(expectedSize, pieceHashes, pieceHashes);
            }

            using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Task? pieceTask = null;
            for (var piece = 0; piece < pieces; piece++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var buffer = buffers[piece % 2];
                var offset = (long)piece * FileDigest.PieceSize;
                var length = Read(handle, buffer, offset, expectedSize);

                // Piece k is hashed on the pool while this thread feeds it to the whole-file hash and then reads
                // piece k+1 into the other buffer; piece k's task must end before its buffer is reused.
                if (pieceTask is not null)
                {
                    await pieceTask.ConfigureAwait(false);
                }

                var index = piece;
                pieceTask = Task.Run(() => SHA256.HashData(buffer.AsSpan(0, length), pieceHashes.AsSpan(index * FileDigest.HashSize, FileDigest.HashSize)), CancellationToken.None);
                whole.AppendData(buffer, 0, length);
                if (pieceRead is not null)
                {
                    await pieceRead(offset + length, cancellationToken).ConfigureAwait(false);
                }
            }

            await pieceTask!.ConfigureAwait(false);
            EnsureEnd(handle, expectedSize, path);
            EnsureUnchanged(handle, expectedModified, path);
            return new FileDigest(expectedSize, whole.GetHashAndReset(), pieceHashes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffers[0]);
            ArrayPool<byte>.Shared.Return(buffers[1]);
        }
    }

    private static int Read(SafeFileHandle handle, byte[] buffer, long offset, long expectedSize)
    {
        var length = (int)Math.Min(FileDigest.PieceSize, expectedSize - offset);
        var filled = ReadFully(handle, buffer.AsSpan(0, length), offset);
        if (filled < length)
        {
            throw new FileChangedException($"the file became shorter while it was read ({offset + filled} of {expectedSize} bytes)");
        }

        return length;
    }

    /// <summary>Reads at <paramref name="offset"/> until <paramref name="destination"/> is full or the file ends; returns the bytes read.</summary>
    internal static int ReadFully(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        int filled = 0;
        while (filled < destination.Length)
        {
            int read = RandomAccess.Read(handle, destination[filled..], offset + filled);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    private static void EnsureUnchanged(SafeFileHandle handle, long? expectedModified, string path)
    {
        if (expectedModified is { } ticks && File.GetLastWriteTimeUtc(handle).Ticks != ticks)
        {
            throw new FileChangedException($"'{path}' was written to while it was read");
        }
    }

    private static void EnsureEnd(SafeFileHandle handle, long expectedSize, string path)
    {
        Span<byte> probe = stackalloc byte[1];
        if (RandomAccess.Read(handle, probe, expectedSize) != 0)
        {
            throw new FileChangedException($"'{path}' grew while it was read");
        }
    }
}
