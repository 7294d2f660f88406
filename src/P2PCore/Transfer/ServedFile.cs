using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using P2PTransfer.Index;
using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// A shared file opened for uploading, found by its hash in the index (never by a path from a request). It is
/// opened only when the path still names a regular file below its share, reached without links, with the size and
/// last-write time the index hashed; pieces are read from the open handle, so a later rename cannot redirect them.
/// Counted references keep the handle open while frames that read from it wait to be sent.
/// </summary>
internal sealed class ServedFile
{
    private readonly SafeFileHandle _handle;
    private readonly UploadCounters _counters;
    private int _references = 1;

    private ServedFile(SafeFileHandle handle, FileDigest digest, UploadCounters counters)
    {
        _handle = handle;
        Digest = digest;
        _counters = counters;
    }

    public FileDigest Digest { get; }

    public long Size => Digest.Size;

    public int PieceCount => TransferLimits.PieceCount(Digest.Size);

    /// <summary>Opens the file the index holds for this content. Throws <see cref="P2PException"/> (FileChanged) when it cannot be served as indexed.</summary>
    public static ServedFile Open(SharedFile file, FileDigest digest, UploadCounters counters)
    {
        var changed = $"the shared file with hash {digest.Hash} has changed or cannot be read; it is being indexed again";
        // Not opened unless it is still a regular file: a named pipe put in its place would block the reader.
        if (HasLinkBelow(file.Share, file.FullName) || !RegularFile.Is(file.FullName))
        {
            throw new P2PException(ProtocolError.FileChanged, changed);
        }

        SafeFileHandle handle;
        try
        {
            handle = System.IO.File.OpenHandle(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new P2PException(ProtocolError.FileChanged, changed, ex);
        }

        try
        {
            if (RandomAccess.GetLength(handle) != digest.Size
                || System.IO.File.GetLastWriteTimeUtc(handle) != file.LastWriteTime.ToUniversalTime()
                || !OpenedWhereIndexed(handle, file.Share, file.FullName))
            {
                throw new P2PException(ProtocolError.FileChanged, changed);
            }

            return new ServedFile(handle, digest, counters);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The bytes of piece <paramref name="piece"/>.</summary>
    public int PieceLength(int piece) => TransferLimits.PieceLength(Size, piece);

    public void AddReference() => Interlocked.Increment(ref _references);

    /// <summary>Drops one reference; the last one closes the file.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _handle.Dispose();
        }
    }

    /// <summary>
    /// Reads a piece into the frame being written. Runs on the connection's write loop, where it must not throw: a
    /// file that shrank or failed to read leaves zeros, which the downloader's piece check rejects as bad data from
    /// this source (it then uses another). Counted as a read failure here.
    /// </summary>
    public void Fill(int piece, Span<byte> destination)
    {
        int filled = 0;
        try
        {
            filled = FileHasher.ReadFully(_handle, destination, (long)piece * TransferLimits.PieceSize);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
        }

        if (filled < destination.Length)
        {
            destination[filled..].Clear();
            _counters.ReadFailed();
        }
        else
        {
            _counters.PieceServed(destination.Length);
        }
    }

    /// <summary>True when the file or a folder between it and its share is a link (it may have been swapped in since indexing).</summary>
    private static bool HasLinkBelow(string share, string fullName)
    {
        try
        {
            if (ShareScanner.IsLink(new FileInfo(fullName)))
            {
                return true;
            }

            for (var folder = Path.GetDirectoryName(fullName); folder is not null && folder.Length > share.Length; folder = Path.GetDirectoryName(folder))
            {
                if (ShareScanner.IsLink(new DirectoryInfo(folder)))
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>
    /// Where the open handle really leads, checked after opening: a link swapped in between the path checks and the
    /// open (or a share root replaced by a link) would lead elsewhere. The folders above the share may be links (the
    /// user's layout: a linked data disk, macOS's /tmp); from the share down nothing may be. Linux tells through /proc;
    /// elsewhere the path checks before the open are all there is.
    /// </summary>
    private static bool OpenedWhereIndexed(SafeFileHandle handle, string share, string fullName)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        try
        {
            var target = new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
            if (target is null)
            {
                return true;
            }

            var above = Path.GetDirectoryName(share);
            var expected = above is null ? fullName : Path.Join(RealPath(above), fullName.AsSpan(above.Length));
            return string.Equals(target, expected, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The path with every link on it resolved (realpath(3)); Linux only, where it is called.</summary>
    private static string RealPath(string path)
    {
        var resolved = NativeRealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            throw new IOException($"'{path}' cannot be resolved (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved)!;
        }
        finally
        {
            NativeFree(resolved);
        }
    }

    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static extern IntPtr NativeRealPath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc", EntryPoint = "free")]
    private static extern void NativeFree(IntPtr pointer);
}
