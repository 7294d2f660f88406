using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using P2PTransfer.Index;
using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// A download in progress beside its destination: the data in <c>NAME.p2ppart</c>, written at each piece's offset,
/// and the record of verified pieces in <c>NAME.p2ppart.pieces</c> (the file's size, hash, piece root and piece
/// hashes, then one bit per piece written, then one bit per piece written without its hash checked on arrival (see
/// <see cref="ArrivalChecks"/>; record version 3, version 2 had no such bits). A piece's bits are written only after
/// its data, so a killed process or a lost network leaves a record that never claims a piece it does not have. What
/// is on this disk is not taken on trust when the next run resumes: a record whose piece hashes no longer match its
/// piece root is discarded with its data, and every piece it marks is read back and checked against its hash, the
/// bad ones fetched again. A checked piece that no longer matches was damaged on this disk, and is never taken for a
/// source's bad data. A file of one piece has no record (there is nothing to
/// resume within a piece) and is written in one go.
/// </summary>
internal sealed class PartialFile : IDisposable
{
    public const string DataSuffix = PartialFileNames.DataSuffix;
    public const string RecordSuffix = PartialFileNames.RecordSuffix;
    private const uint Magic = 0x50325052; // "P2PR"
    private const ushort RecordVersion = 3;
    private const ushort RecordVersionWithoutUncheckedBits = 2;
    private const int HeaderLength = 4 + 2 + 8 + 32 + 4 + 32;
    private const int PieceRootOffset = 4 + 2 + 8 + 32 + 4;
    private const int WriteChunk = 16 * 1024;

    private readonly object _gate = new();
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SafeFileHandle _data;
    private readonly SafeFileHandle? _record;
    private readonly int _bitmapOffset;
    private readonly int _uncheckedOffset;
    private readonly byte[] _unchecked;
    private bool _disposed;

    private PartialFile(string destination, long size, byte[] pieceHashes, SafeFileHandle data, SafeFileHandle? record, byte[] bitmap, byte[] uncheckedBits)
    {
        Destination = destination;
        Size = size;
        PieceHashes = pieceHashes;
        _data = data;
        _record = record;
        _bitmapOffset = HeaderLength + pieceHashes.Length;
        _uncheckedOffset = _bitmapOffset + bitmap.Length;
        _unchecked = uncheckedBits;
        Verified = new VerifiedPieces(size, bitmap);
    }

    /// <summary>The record's length for a file of <paramref name="pieces"/> pieces, in a version of the record.</summary>
    private static long RecordLength(int pieces, ushort version) =>
        HeaderLength + ((long)pieces * 32) + ((version == RecordVersion ? 2 : 1) * ((pieces + 7) / 8));

    /// <summary>True for the name of a partial file or its record (in any case): no download takes such a name.</summary>
    public static bool IsPartialName(string name) => PartialFileNames.IsPartialName(name);

    public string Destination { get; }

    public string DataPath => Destination + DataSuffix;

    public string RecordPath => Destination + RecordSuffix;

    public long Size { get; }

    /// <summary>The piece hashes this download verifies against (from the record, or as first fetched).</summary>
    public byte[] PieceHashes { get; }

    public int PieceCount => TransferLimits.PieceCount(Size);

    /// <summary>The pieces written (checked on arrival, or taken unchecked: <see cref="IsUnchecked"/>), as the record on disk holds them (a piece is added only by a write here).</summary>
    public VerifiedPieces Verified { get; }

    /// <summary>True when an earlier run's record was resumed (its piece list is the one verified against).</summary>
    public bool Resumed { get; private set; }

    /// <summary>Pieces the record marked as checked that no longer matched their hash when this run resumed: damaged on this disk (dropped, to be fetched again).</summary>
    public int DamagedOnResume { get; private set; }

    /// <summary>Pieces an earlier run took unchecked from a source that did not match their hash when this run resumed (dropped, to be fetched again).</summary>
    public int BadUncheckedOnResume { get; private set; }

    /// <summary>
    /// Reads the record left by an earlier run for this content and checks what it marks against the data on disk
    /// (<see cref="DamagedOnResume"/>); null when there is none, or it belongs to other content, does not parse or is
    /// damaged (then both files are removed: they cannot be resumed, and <paramref name="report"/> hears why).
    /// </summary>
    public static PartialFile? TryResume(string destination, long size, byte[] hash, Action<string>? report = null)
    {
        var recordPath = destination + RecordSuffix;
        var dataPath = destination + DataSuffix;
        if (TransferLimits.PieceCount(size) <= 1)
        {
            return null;
        }

        bool hasRecord = File.Exists(recordPath);
        if (!hasRecord || !File.Exists(dataPath))
        {
            if (hasRecord)
            {
                Discard(destination);
            }

            return null;
        }

        SafeFileHandle? record = null;
        SafeFileHandle? data = null;
        try
        {
            record = OpenLocked(recordPath, FileMode.Open);
            long length = RandomAccess.GetLength(record);
            int pieces = TransferLimits.PieceCount(size);
            int bitmapLength = (pieces + 7) / 8;
            var version = new byte[6];
            RandomAccess.Read(record, version, 0);
            ushort recordVersion = BinaryPrimitives.ReadUInt16BigEndian(version.AsSpan(4));
            // A version 2 record with version 3's length was being upgraded when its process stopped: the extra bytes
            // are the (empty) unchecked bits.
            if (recordVersion is not (RecordVersion or RecordVersionWithoutUncheckedBits)
                || (length != RecordLength(pieces, recordVersion) && length != RecordLength(pieces, RecordVersion)))
            {
                throw new InvalidDataException("record size does not match");
            }

            var bytes = new byte[length];
            RandomAccess.Read(record, bytes, 0);
            if (BinaryPrimitives.ReadUInt32BigEndian(bytes) != Magic
                || BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(6)) != size || !bytes.AsSpan(14, 32).SequenceEqual(hash)
                || BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(46)) != pieces)
            {
                throw new InvalidDataException("record belongs to other content");
            }

            var pieceHashes = bytes.AsSpan(HeaderLength, pieces * 32).ToArray();
            if (!SHA256.HashData(pieceHashes).AsSpan().SequenceEqual(bytes.AsSpan(PieceRootOffset, 32)))
            {
                throw new InvalidDataException("its piece hashes do not match the piece root it keeps: the record was damaged on this disk");
            }

            var bitmap = bytes.AsSpan(HeaderLength + (pieces * 32), bitmapLength).ToArray();
            var uncheckedBits = recordVersion == RecordVersion ? bytes.AsSpan(HeaderLength + (pieces * 32) + bitmapLength, bitmapLength).ToArray() : new byte[bitmapLength];
            for (int piece = 0; piece < pieces; piece++)
            {
                if ((bitmap[piece / 8] & (1 << (piece % 8))) == 0)
                {
                    // Only a written piece can be unchecked (a bit left by a process stopped between two writes).
                    uncheckedBits[piece / 8] &= (byte)~(1 << (piece % 8));
                }
            }
            data = File.OpenHandle(dataPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            // Written back as cleaned; a version 2 record (every marked piece checked) gains them first, then its new
            // version, so a process stopped in between leaves a record that still resumes.
            RandomAccess.Write(record, uncheckedBits, HeaderLength + ((long)pieces * 32) + bitmapLength);
            if (recordVersion != RecordVersion)
            {
                var upgraded = new byte[2];
                BinaryPrimitives.WriteUInt16BigEndian(upgraded, RecordVersion);
                RandomAccess.Write(record, upgraded, 4);
            }

            var partial = new PartialFile(destination, size, pieceHashes, data, record, bitmap, uncheckedBits);
            partial.Resumed = true;
            var wereUnchecked = Enumerable.Range(0, pieces).Where(partial.IsUnchecked).ToHashSet();
            var bad = partial.DropPiecesNotMatching(Enumerable.Range(0, pieces).Where(partial.Verified.Contains));
            partial.BadUncheckedOnResume = bad.Count(wereUnchecked.Contains);
            partial.DamagedOnResume = bad.Count - partial.BadUncheckedOnResume;
            return partial;
        }
        catch (DownloadInUseException)
        {
            throw;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            record?.Dispose();
            data?.Dispose();
            Discard(destination);
            report?.Invoke($"the partial file from an earlier run cannot be resumed ({ex.Message}); it was removed, and the file starts afresh");
            return null;
        }
    }

    /// <summary>
    /// What the record beside <paramref name="destination"/> says, read without taking the download over: the file's
    /// size, its SHA-256 and the bytes verified. Null when there is no record, or it cannot be read (a download holds
    /// it, or it is damaged or of another version).
    /// </summary>
    public static (long Size, byte[] Hash, long BytesVerified)? ReadRecord(string destination)
    {
        try
        {
            using var record = File.OpenHandle(destination + RecordSuffix, FileMode.Open, FileAccess.Read, FileShare.Read);
            var header = new byte[HeaderLength];
            if (RandomAccess.Read(record, header, 0) != HeaderLength || BinaryPrimitives.ReadUInt32BigEndian(header) != Magic)
            {
                return null;
            }

            ushort version = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
            if (version is not (RecordVersion or RecordVersionWithoutUncheckedBits))
            {
                return null;
            }

            long size = BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(6));
            int pieces = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(46));
            if (size is < 0 or > TransferLimits.MaxFileSize || pieces != TransferLimits.PieceCount(size)
                || (RandomAccess.GetLength(record) is var length && length != RecordLength(pieces, version) && length != RecordLength(pieces, RecordVersion)))
            {
                return null;
            }

            var bitmap = new byte[(pieces + 7) / 8];
            RandomAccess.Read(record, bitmap, HeaderLength + ((long)pieces * 32));
            return (size, header.AsSpan(14, 32).ToArray(), new VerifiedPieces(size, bitmap).Bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Opens the file that marks a download in progress, exclusively (a lock other processes see too), without
    /// truncating it first: a second download to the same destination is refused rather than spoiling the first.
    /// </summary>
    private static SafeFileHandle OpenLocked(string path, FileMode mode)
    {
        try
        {
            return File.OpenHandle(path, mode, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (File.Exists(path) && !IsDiskFull(ex))
        {
            throw new DownloadInUseException(path, ex);
        }
    }

    /// <summary>Starts a new partial file, reserving the space on disk first (a disk that cannot hold it fails here, not midway).</summary>
    public static PartialFile Create(string destination, long size, byte[] hash, byte[] pieceHashes)
    {
        int pieces = TransferLimits.PieceCount(size);
        SafeFileHandle? data = null;
        SafeFileHandle? record = null;
        try
        {
            if (pieces <= 1)
            {
                // One write makes the file: no reservation, no record. Locked before it is emptied.
                data = OpenLocked(destination + DataSuffix, FileMode.OpenOrCreate);
                RandomAccess.SetLength(data, 0);
                return new PartialFile(destination, size, pieceHashes, data, null, new byte[1], new byte[1]);
            }

            // The record is the lock: taken before anything is emptied.
            record = OpenLocked(destination + RecordSuffix, FileMode.OpenOrCreate);
            RandomAccess.SetLength(record, 0);
            data = File.OpenHandle(destination + DataSuffix, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, preallocationSize: size);
            var header = new byte[RecordLength(pieces, RecordVersion)];
            BinaryPrimitives.WriteUInt32BigEndian(header, Magic);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), RecordVersion);
            BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(6), size);
            hash.CopyTo(header.AsSpan(14));
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(46), pieces);
            SHA256.HashData(pieceHashes, header.AsSpan(PieceRootOffset, 32));
            pieceHashes.CopyTo(header.AsSpan(HeaderLength));
            RandomAccess.Write(record, header, 0);
            return new PartialFile(destination, size, pieceHashes, data, record, new byte[(pieces + 7) / 8], new byte[(pieces + 7) / 8]);
        }
        catch (IOException ex) when (IsDiskFull(ex))
        {
            data?.Dispose();
            record?.Dispose();
            Discard(destination);
            throw new P2PException(ProtocolError.InsufficientSpace, $"not enough free space for '{destination}' ({size:N0} bytes)", ex);
        }
        catch (DownloadInUseException)
        {
            throw;
        }
        catch
        {
            data?.Dispose();
            record?.Dispose();
            Discard(destination);
            throw;
        }
    }

    public ReadOnlySpan<byte> PieceHash(int piece) => PieceHashes.AsSpan(piece * 32, 32);

    /// <summary>
    /// Writes a verified piece at its offset, then records it; false when it was recorded already (two sources sent it).
    /// One piece is written at a time: the other source workers wait here without a thread. (Concurrent writes to one
    /// file serialize on its inode lock in the kernel anyway, where a waiting writer spins on a CPU while the first
    /// copies its megabyte.)
    /// </summary>
    public async ValueTask<bool> WritePieceAsync(int piece, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        await WritePieceAsync(piece, data, checkedOnArrival: true, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The same for a piece whose hash may not have been checked on arrival (<paramref name="checkedOnArrival"/>
    /// false): the record says so, and it is checked from disk when the next run resumes.
    /// </summary>
    public async ValueTask<bool> WritePieceAsync(int piece, ReadOnlyMemory<byte> data, bool checkedOnArrival, CancellationToken cancellationToken)
    {
        if (Verified.Contains(piece))
        {
            return false;
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Verified.Contains(piece))
            {
                return false;
            }

            Write(piece, data.Span);
            // Recorded before the next writer checks: a second copy of the piece (end game) is not written again.
            return Record(piece, checkedOnArrival);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void Write(int piece, ReadOnlySpan<byte> data)
    {
        long offset = (long)piece * TransferLimits.PieceSize;
        try
        {
            // In 16 KiB writes, as curl writes: Linux sizes page-cache folios by the write, and large folios come
            // from memory the kernel may have handed back to a VM's host. Measured on a 2-core VM: 1 MiB writes cost
            // 0.4 to 2.5 s of system time per GiB from run to run, 16 KiB writes 0.5 to 0.8 s every time.
            for (int written = 0; written < data.Length; written += WriteChunk)
            {
                RandomAccess.Write(_data, data.Slice(written, Math.Min(WriteChunk, data.Length - written)), offset + written);
            }
        }
        catch (IOException ex) when (IsDiskFull(ex))
        {
            throw new P2PException(ProtocolError.InsufficientSpace, $"the disk of '{Destination}' is full", ex);
        }
    }

    private bool Record(int piece, bool checkedOnArrival)
    {
        lock (_gate)
        {
            if (_disposed || Verified.Contains(piece))
            {
                return false;
            }

            // The unchecked bit goes first: a record never holds an unchecked piece as checked. (A bit left by a
            // process killed between the two writes is cleared here when the piece comes again, checked.)
            SetUnchecked(piece, !checkedOnArrival);

            Verified.Add(piece);
            if (_record is not null)
            {
                RandomAccess.Write(_record, Verified.BitmapByteOf(piece), _bitmapOffset + (piece / 8));
            }

            return true;
        }
    }

    /// <summary>True for a piece written without its hash checked, and not checked since.</summary>
    public bool IsUnchecked(int piece) => ((Volatile.Read(ref _unchecked[piece / 8]) >> (piece % 8)) & 1) != 0;

    private void SetUnchecked(int piece, bool value)
    {
        int mask = 1 << (piece % 8);
        byte current = _unchecked[piece / 8];
        byte next = (byte)(value ? current | mask : current & ~mask);
        if (next == current)
        {
            return;
        }

        Volatile.Write(ref _unchecked[piece / 8], next);
        if (_record is not null)
        {
            RandomAccess.Write(_record, _unchecked.AsSpan(piece / 8, 1), _uncheckedOffset + (piece / 8));
        }
    }

    /// <summary>Reads a piece back (for the whole-file hash, when it was not at hand in memory).</summary>
    public void ReadPiece(int piece, Span<byte> destination)
    {
        if (FileHasher.ReadFully(_data, destination, (long)piece * TransferLimits.PieceSize) < destination.Length)
        {
            throw new IOException($"'{DataPath}' is shorter than its record says");
        }
    }

    /// <summary>
    /// Reads back every piece marked verified and checks it against its hash; a piece that no longer matches (or is
    /// cut short) is taken out of the record, to be fetched again. Returns how many were. Only while no download
    /// works on this file: on resume, and once every piece is in.
    /// </summary>
    public int DropDamagedPieces() => DropPiecesNotMatching(Enumerable.Range(0, PieceCount).Where(Verified.Contains)).Count;

    /// <summary>
    /// Reads back <paramref name="pieces"/> (written ones) and checks each against its hash: one that does not match
    /// (or is cut short) is taken out of the record, to be fetched again; one that matches is checked from here on.
    /// Returns the pieces taken out. Only while no source writes to this file.
    /// </summary>
    public List<int> DropPiecesNotMatching(IEnumerable<int> pieces)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(TransferLimits.PieceSize);
        try
        {
            Span<byte> actual = stackalloc byte[32];
            var dropped = new List<int>();
            foreach (int piece in pieces)
            {
                if (!Verified.Contains(piece))
                {
                    continue;
                }

                var span = buffer.AsSpan(0, TransferLimits.PieceLength(Size, piece));
                bool matches = FileHasher.ReadFully(_data, span, (long)piece * TransferLimits.PieceSize) == span.Length
                    && SHA256.TryHashData(span, actual, out _) && actual.SequenceEqual(PieceHash(piece));
                lock (_gate)
                {
                    if (!matches)
                    {
                        dropped.Add(piece);
                        Verified.Remove(piece);
                        if (_record is not null)
                        {
                            RandomAccess.Write(_record, Verified.BitmapByteOf(piece), _bitmapOffset + (piece / 8));
                        }
                    }

                    SetUnchecked(piece, false);
                }
            }

            return dropped;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Closes a download that stops before its end (a failure, Ctrl+C) for a later run to resume: the data is cut
    /// after the last verified piece, which gives back the space reserved beyond it.
    /// </summary>
    public void Suspend()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                RandomAccess.SetLength(_data, Verified.Extent);
            }
            catch (IOException)
            {
                // The reservation stays until the next run: the verified pieces are what matters.
            }
        }

        Dispose();
    }

    /// <summary>Gives the verified file its final name (replacing an existing file only when <paramref name="overwrite"/>) and removes the record.</summary>
    public void Complete(bool overwrite)
    {
        Dispose();
        File.Move(DataPath, Destination, overwrite);
        if (_record is not null)
        {
            File.Delete(RecordPath);
        }
    }

    /// <summary>Removes a partial file and its record (unverifiable data).</summary>
    public void Abandon()
    {
        Dispose();
        Discard(Destination);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _data.Dispose();
        _record?.Dispose();
    }

    private static void Discard(string destination)
    {
        File.Delete(destination + DataSuffix);
        File.Delete(destination + RecordSuffix);
    }

    /// <summary>ENOSPC on Unix, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    internal static bool IsDiskFull(IOException ex) => (ex.HResult & 0xFFFF) is 28 or 39 or 112;
}
