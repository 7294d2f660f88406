using System.Runtime.InteropServices;

namespace P2PTransfer.Index;

/// <summary>
/// Whether a path names a regular file, judged by its file type without opening it: named pipes, sockets and devices
/// are never shared or served, whatever size they report (opening a named pipe for reading blocks until a writer
/// comes). A link is not followed (lstat); links are judged by <see cref="ShareScanner.IsLink"/>.
/// </summary>
internal static class RegularFile
{
    // The file type bits of st_mode, as the runtime's own native shim reports them on every Unix.
    private const int TypeMask = 0xF000;
    private const int Regular = 0x8000;

    /// <summary>True for a regular file; false for anything else, and for a path that is gone or cannot be examined.</summary>
    public static bool Is(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                // No named pipes or sockets in Windows folders; devices are not listed in them either.
                var attributes = File.GetAttributes(path);
                return (attributes & (FileAttributes.Directory | FileAttributes.Device | FileAttributes.ReparsePoint)) == 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        return LStatMode(path) is { } mode && (mode & TypeMask) == Regular;
    }

    /// <summary>st_mode of the path itself (not of a link's target); null when it cannot be examined.</summary>
    private static int? LStatMode(string path)
    {
        // The runtime's FileStatus starts with Flags and Mode (two 32-bit fields, in the machine's byte order); it
        // has grown at its end across versions, so the buffer leaves ample room.
        Span<byte> status = stackalloc byte[512];
        return SystemNativeLStat(path, ref MemoryMarshal.GetReference(status)) == 0 ? MemoryMarshal.Read<int>(status[4..]) : null;
    }

    /// <summary>The lstat of .NET's own native shim (libSystem.Native, shipped with every .NET on Unix): one structure layout on every Unix and architecture, unlike libc's struct stat.</summary>
    [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", SetLastError = true)]
    private static extern int SystemNativeLStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref byte output);
}
