using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace P2PTransfer.Control;

/// <summary>
/// Who is at the other end of a local socket, as the kernel says (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS), and
/// who may manage a node: the user it runs as, and root.
/// </summary>
internal static class PeerCredentials
{
    private const int LinuxSolSocket = 1;
    private const int LinuxSoPeerCred = 17;
    private const int MacSolLocal = 0;
    private const int MacLocalPeerCred = 1;
    private static readonly object NameGate = new();

    /// <summary>The effective uid of this process; null on Windows.</summary>
    public static uint? CurrentUid => OperatingSystem.IsWindows() ? null : geteuid();

    /// <summary>The uid of the process at the other end of a connected Unix socket; null where the platform cannot tell.</summary>
    public static uint? PeerUid(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
            var ucred = new byte[12];
            int length = socket.GetRawSocketOption(LinuxSolSocket, LinuxSoPeerCred, ucred);
            return length >= 8 ? BitConverter.ToUInt32(ucred, 4) : null;
        }

        if (OperatingSystem.IsMacOS())
        {
            // struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }
            var xucred = new byte[76];
            int length = socket.GetRawSocketOption(MacSolLocal, MacLocalPeerCred, xucred);
            return length >= 8 ? BitConverter.ToUInt32(xucred, 4) : null;
        }

        return null;
    }

    /// <summary>The rule: the node's owner and root may manage it, nobody else.</summary>
    public static bool MayManage(uint peerUid, uint ownerUid) => peerUid == ownerUid || peerUid == 0;

    /// <summary>A uid as people know it: the user's name, or 'uid N' when it has none.</summary>
    public static string UserName(uint uid)
    {
        try
        {
            lock (NameGate)
            {
                var entry = getpwuid(uid);
                if (entry != IntPtr.Zero && Marshal.ReadIntPtr(entry) is var name && name != IntPtr.Zero)
                {
                    return Marshal.PtrToStringUTF8(name) ?? $"uid {uid}";
                }
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
        }

        return $"uid {uid}";
    }

    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc")]
    private static extern IntPtr getpwuid(uint uid);
}
