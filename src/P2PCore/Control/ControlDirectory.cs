namespace P2PTransfer.Control;

/// <summary>
/// Where a user's nodes put their control sockets: one folder per user, owner-only (0700), one socket per node named
/// by the node's name (<c>name.sock</c>, 0600). $XDG_RUNTIME_DIR/p2ptransfer when the session has a runtime folder,
/// else ~/.local/state/p2ptransfer/control. On Windows the channel is a named pipe, <c>p2ptransfer-user-name</c>.
/// </summary>
internal static class ControlDirectory
{
    public const string SocketExtension = ".sock";

    /// <summary>A Unix socket's path must fit sun_path (108 bytes with its terminating zero on Linux).</summary>
    public const int MaxSocketPathBytes = 107;

    public static string Default
    {
        get
        {
            var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            if (!string.IsNullOrEmpty(runtime) && Path.IsPathRooted(runtime) && Directory.Exists(runtime))
            {
                return Path.Combine(runtime, "p2ptransfer");
            }

            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".local", "state", "p2ptransfer", "control");
        }
    }

    public static string SocketPath(string directory, string nodeName) => Path.Combine(directory, nodeName + SocketExtension);

    /// <summary>The pipe name of a node on Windows; the user's name in it keeps users apart, its ACL keeps others out.</summary>
    public static string PipeName(string nodeName) => $"p2ptransfer-{Environment.UserName}-{nodeName}";

    /// <summary>
    /// Creates the folder (and its parents) if needed and makes it owner-only (0700). Only the folder's owner may change
    /// its mode, so a folder someone else made fails here (<see cref="UnauthorizedAccessException"/>) instead of being used.
    /// </summary>
    public static void Prepare(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Directory.CreateDirectory(directory, ownerOnly);
        File.SetUnixFileMode(directory, ownerOnly);
    }

    /// <summary>The control endpoints of running (or crashed) nodes in a folder: socket paths, or pipe names on Windows.</summary>
    public static IReadOnlyList<(string NodeName, string Address)> List(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            var prefix = PipeName(string.Empty);
            return [.. Directory.GetFiles(@"\\.\pipe\")
                .Select(Path.GetFileName)
                .Where(name => name is not null && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                .Select(name => (name![prefix.Length..], name!))
                .OrderBy(pair => pair.Item1, StringComparer.OrdinalIgnoreCase)];
        }

        if (!Directory.Exists(directory))
        {
            return [];
        }

        return [.. Directory.EnumerateFiles(directory, "*" + SocketExtension)
            .Select(path => (Path.GetFileNameWithoutExtension(path), path))
            .OrderBy(pair => pair.Item1, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>The endpoint of the node with this name in the folder (its socket path, or its pipe name on Windows).</summary>
    public static string AddressOf(string directory, string nodeName) =>
        OperatingSystem.IsWindows() ? PipeName(nodeName) : SocketPath(directory, nodeName);
}
