using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace P2PTransfer.Module;

/// <summary>
/// pwsh never probes a module's runtimes/ folder, so SQLite's native library (e_sqlite3) is loaded from there by
/// hand: the folder for this operating system and architecture, beside the module's assemblies.
/// </summary>
internal static class NativeLibraries
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += Resolve;
        }
    }

    private static IntPtr Resolve(Assembly requester, string name)
    {
        if (name != "e_sqlite3")
        {
            return IntPtr.Zero;
        }

        var folder = Path.GetDirectoryName(typeof(NativeLibraries).Assembly.Location)!;
        var file = OperatingSystem.IsWindows() ? "e_sqlite3.dll" : OperatingSystem.IsMacOS() ? "libe_sqlite3.dylib" : "libe_sqlite3.so";
        foreach (var rid in RuntimeIds())
        {
            var path = Path.Combine(folder, "runtimes", rid, "native", file);
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    private static IEnumerable<string> RuntimeIds()
    {
        yield return RuntimeInformation.RuntimeIdentifier;
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        if (os == "linux" && File.Exists("/etc/alpine-release"))
        {
            yield return $"linux-musl-{arch}";
        }

        yield return $"{os}-{arch}";
    }
}
