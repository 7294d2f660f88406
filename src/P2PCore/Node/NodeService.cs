using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;
using P2PTransfer.Protocol;

namespace P2PTransfer.Node;

/// <summary>Whose service: the user's (started at their login) or the machine's (started at boot).</summary>
public enum ServiceScope
{
    CurrentUser,
    AllUsers,
}

/// <summary>
/// Registers a node with the operating system's service manager, so that the service host (P2PHost) runs it from its
/// state directory at boot or login: a systemd unit on Linux, a launchd property list on macOS, a service on Windows.
/// With <see cref="DirectoryVariable"/> set, the unit or property list is written to that folder instead and the
/// service manager is not told (no reload, enable, start or stop).
/// </summary>
public static class NodeService
{
    /// <summary>The environment variable that sends units to a folder of one's own (tests, images built for other machines).</summary>
    public const string DirectoryVariable = "P2P_SERVICE_DIRECTORY";

    /// <summary>The host's assembly in its folder (the module's host/ folder).</summary>
    public const string HostAssembly = "P2PHost.dll";

    /// <summary>Services are named p2ptransfer-NAME, so that a node's name never takes over another program's service.</summary>
    public const string NamePrefix = "p2ptransfer-";

    /// <summary>The first line of every unit written here; one without it is another program's and is never replaced or removed.</summary>
    public const string Marker = "Written by Install-P2PService";

    /// <summary>What a stop may take beyond the node's drain before the service manager kills the host.</summary>
    public static readonly TimeSpan StopMargin = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Describes the service of a node without changing anything: its name, where its unit goes, and the command line
    /// that runs the host found in <paramref name="hostDirectory"/>.
    /// </summary>
    public static NodeServiceInfo Describe(string name, string? stateDirectory, ServiceScope scope, string hostDirectory, TimeSpan drainTimeout)
    {
        if (!WireRules.IsNodeName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid node name: use letters, digits, '.', '_' or '-' (at most 64), the first a letter or digit", nameof(name));
        }

        var platform = CurrentPlatform();
        var serviceName = NamePrefix + name;
        // By default the folder Start-P2PNode -Name NAME uses, so the service runs the node the user knows.
        var state = Path.GetFullPath(stateDirectory ?? Path.Combine(NodeStateDirectory.DefaultRoot, name));
        var command = HostCommandLine(hostDirectory, state);
        var folder = Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } redirected ? Path.GetFullPath(redirected) : null;
        var unitPath = platform switch
        {
            ServicePlatform.Systemd => Path.Combine(folder ?? SystemdFolder(scope), serviceName + ".service"),
            ServicePlatform.Launchd => Path.Combine(folder ?? LaunchdFolder(scope), serviceName + ".plist"),
            _ => folder is null ? @"HKLM\SYSTEM\CurrentControlSet\Services\" + serviceName : Path.Combine(folder, serviceName + ".cmd"),
        };
        return new NodeServiceInfo(serviceName, name, platform, scope, unitPath, state, command, Managed: folder is null, drainTimeout + StopMargin);
    }

    /// <summary>The unit (systemd), property list (launchd) or command file (Windows, redirected only) of a service.</summary>
    public static string UnitText(NodeServiceInfo service) => service.Platform switch
    {
        ServicePlatform.Systemd => SystemdUnit(service),
        ServicePlatform.Launchd => LaunchdPlist(service),
        _ => $"@rem {Marker}: the command line of the Windows service {service.ServiceName}\r\n{WindowsCommandLine(service.CommandLine)}\r\n",
    };

    /// <summary>
    /// Writes the node's settings into its state directory, writes its unit, and has the service manager start it now
    /// and at every boot (AllUsers) or login (CurrentUser). An existing service of the same name is replaced, but only
    /// one written here.
    /// </summary>
    public static void Install(NodeServiceInfo service, NodeSettings settings)
    {
        var hostAssembly = service.CommandLine.FirstOrDefault(a => a.EndsWith(HostAssembly, StringComparison.OrdinalIgnoreCase))
            ?? Path.Combine(Path.GetDirectoryName(service.CommandLine[0]) ?? ".", HostAssembly);
        if (!File.Exists(hostAssembly))
        {
            throw new NodeServiceException(NodeServiceError.HostMissing, $"the service host '{hostAssembly}' is missing: lay out the module again (build.ps1 Build) or reinstall it");
        }

        foreach (var share in settings.Shares ?? [])
        {
            if (!Directory.Exists(share) && !File.Exists(share))
            {
                throw new DirectoryNotFoundException($"share '{share}' does not exist");
            }
        }

        if (service.Platform != ServicePlatform.Windows || !service.Managed)
        {
            CheckOurs(service.UnitPath);
        }

        settings.Name = service.NodeName;
        settings.Save(service.StateDirectory);
        if (service.Platform == ServicePlatform.Windows && service.Managed)
        {
            InstallWindows(service);
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(service.UnitPath)!);
        var temporary = service.UnitPath + ".tmp";
        File.WriteAllText(temporary, UnitText(service));
        File.Move(temporary, service.UnitPath, overwrite: true);
        if (!service.Managed)
        {
            return;
        }

        if (service.Platform == ServicePlatform.Systemd)
        {
            var user = service.Scope == ServiceScope.CurrentUser ? new[] { "--user" } : [];
            Run("systemctl", [.. user, "daemon-reload"]);
            Run("systemctl", [.. user, "enable", "--now", service.ServiceName + ".service"]);
        }
        else
        {
            Run("launchctl", ["bootstrap", LaunchdDomain(service.Scope), service.UnitPath]);
        }
    }

    /// <summary>
    /// Stops the service (the node drains and says goodbye) and removes it; its state directory stays. Throws
    /// <see cref="FileNotFoundException"/> when there is no such service, and refuses one not written here.
    /// </summary>
    public static void Uninstall(NodeServiceInfo service)
    {
        if (service.Platform == ServicePlatform.Windows && service.Managed)
        {
            // 1060: ERROR_SERVICE_DOES_NOT_EXIST.
            if (Run("sc.exe", ["query", service.ServiceName], mayFail: true) == 1060)
            {
                throw new NodeServiceException(NodeServiceError.NotFound, $"there is no service {service.ServiceName}");
            }

            Run("sc.exe", ["stop", service.ServiceName], mayFail: true);
            Run("sc.exe", ["delete", service.ServiceName]);
            return;
        }

        if (!File.Exists(service.UnitPath))
        {
            throw new NodeServiceException(NodeServiceError.NotFound, $"there is no service {service.ServiceName} ({service.UnitPath})");
        }

        CheckOurs(service.UnitPath);
        if (service.Managed && service.Platform == ServicePlatform.Systemd)
        {
            var user = service.Scope == ServiceScope.CurrentUser ? new[] { "--user" } : [];
            Run("systemctl", [.. user, "disable", "--now", service.ServiceName + ".service"], mayFail: true);
        }
        else if (service.Managed)
        {
            Run("launchctl", ["bootout", LaunchdDomain(service.Scope) + "/" + service.ServiceName], mayFail: true);
        }

        File.Delete(service.UnitPath);
        if (service.Managed && service.Platform == ServicePlatform.Systemd)
        {
            Run("systemctl", [.. service.Scope == ServiceScope.CurrentUser ? new[] { "--user" } : [], "daemon-reload"], mayFail: true);
        }
    }

    private static void CheckOurs(string unitPath)
    {
        if (File.Exists(unitPath) && !File.ReadLines(unitPath).Take(2).Any(line => line.Contains(Marker, StringComparison.Ordinal)))
        {
            throw new NodeServiceException(NodeServiceError.NotOurs, $"'{unitPath}' was not written by Install-P2PService: it is left alone; choose another -Name");
        }
    }

    private static string SystemdUnit(NodeServiceInfo service)
    {
        var text = new StringBuilder();
        text.Append("# ").Append(Marker).Append(": the P2PTransfer node ").Append(service.NodeName).Append('\n');
        text.Append("[Unit]\n");
        text.Append("Description=P2PTransfer node ").Append(service.NodeName).Append('\n');
        text.Append("Documentation=https://github.com/p2ptransfer/P2PTransfer/blob/main/README.md\n");
        text.Append("Wants=network-online.target\n");
        text.Append("After=network-online.target\n\n");
        text.Append("[Service]\n");
        // The host tells systemd when the node serves (sd_notify READY=1) and when it stops.
        text.Append("Type=notify\n");
        text.Append("ExecStart=").Append(string.Join(' ', service.CommandLine.Select(SystemdQuote))).Append('\n');
        text.Append("Restart=on-failure\n");
        text.Append("RestartSec=5\n");
        // SIGTERM is the graceful stop; what outlives the drain and the goodbyes is killed after TimeoutStopSec.
        text.Append("KillSignal=SIGTERM\n");
        text.Append("KillMode=mixed\n");
        text.Append("TimeoutStopSec=").Append((int)Math.Ceiling(service.StopTimeout.TotalSeconds)).Append('\n');
        text.Append('\n');
        text.Append("[Install]\n");
        text.Append("WantedBy=").Append(service.Scope == ServiceScope.CurrentUser ? "default.target" : "multi-user.target").Append('\n');
        return text.ToString();
    }

    private static string LaunchdPlist(NodeServiceInfo service)
    {
        var text = new StringBuilder();
        text.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        text.Append("<!-- ").Append(Marker).Append(": the P2PTransfer node ").Append(SecurityElement.Escape(service.NodeName)).Append(" -->\n");
        text.Append("<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n");
        text.Append("<plist version=\"1.0\">\n<dict>\n");
        text.Append("  <key>Label</key>\n  <string>").Append(SecurityElement.Escape(service.ServiceName)).Append("</string>\n");
        text.Append("  <key>ProgramArguments</key>\n  <array>\n");
        foreach (var argument in service.CommandLine)
        {
            text.Append("    <string>").Append(SecurityElement.Escape(argument)).Append("</string>\n");
        }

        text.Append("  </array>\n");
        text.Append("  <key>RunAtLoad</key>\n  <true/>\n");
        // Started again after a failure, not after a stop that ended well.
        text.Append("  <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>\n");
        text.Append("  <key>ExitTimeOut</key>\n  <integer>").Append((int)Math.Ceiling(service.StopTimeout.TotalSeconds)).Append("</integer>\n");
        var log = SecurityElement.Escape(Path.Combine(service.StateDirectory, "host.log"));
        text.Append("  <key>StandardOutPath</key>\n  <string>").Append(log).Append("</string>\n");
        text.Append("  <key>StandardErrorPath</key>\n  <string>").Append(log).Append("</string>\n");
        text.Append("</dict>\n</plist>\n");
        return text.ToString();
    }

    private static void InstallWindows(NodeServiceInfo service)
    {
        Run("sc.exe", ["create", service.ServiceName, "binPath=", WindowsCommandLine(service.CommandLine), "start=", "auto", "DisplayName=", "P2PTransfer node " + service.NodeName]);
        Run("sc.exe", ["description", service.ServiceName, "The P2PTransfer node " + service.NodeName + ", run from " + service.StateDirectory]);
        Run("sc.exe", ["failure", service.ServiceName, "reset=", "86400", "actions=", "restart/5000"]);
        Run("sc.exe", ["start", service.ServiceName]);
    }

    /// <summary>The host run by the same .NET as this process (its dotnet muxer), else the host's own launcher.</summary>
    private static string[] HostCommandLine(string hostDirectory, string stateDirectory)
    {
        var host = Path.GetFullPath(hostDirectory);
        var dotnetRoot = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var muxer = Path.Combine(dotnetRoot, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        if (File.Exists(muxer))
        {
            return [muxer, Path.Combine(host, HostAssembly), "--state-directory", stateDirectory];
        }

        return [Path.Combine(host, OperatingSystem.IsWindows() ? "P2PHost.exe" : "P2PHost"), "--state-directory", stateDirectory];
    }

    // systemd.syntax: a word in double quotes, with '\' and '"' escaped; '%' is a specifier and '$' a variable, doubled.
    private static string SystemdQuote(string argument) =>
        "\"" + argument.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("%", "%%").Replace("$", "$$") + "\"";

    private static string WindowsCommandLine(IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Select(a => "\"" + a.Replace("\"", "\\\"") + "\""));

    private static ServicePlatform CurrentPlatform() =>
        OperatingSystem.IsWindows() ? ServicePlatform.Windows : OperatingSystem.IsMacOS() ? ServicePlatform.Launchd : ServicePlatform.Systemd;

    private static string SystemdFolder(ServiceScope scope) => scope == ServiceScope.AllUsers
        ? "/etc/systemd/system"
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } config ? config : Path.Combine(Home(), ".config"), "systemd", "user");

    private static string LaunchdFolder(ServiceScope scope) => scope == ServiceScope.AllUsers
        ? "/Library/LaunchDaemons"
        : Path.Combine(Home(), "Library", "LaunchAgents");

    private static string LaunchdDomain(ServiceScope scope) => scope == ServiceScope.AllUsers ? "system" : $"gui/{GetUserId()}";

    private static string Home() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    [DllImport("libc", EntryPoint = "getuid")]
    private static extern uint GetUserId();

    /// <summary>Runs a service manager's command and returns its exit code; one that fails is an error unless <paramref name="mayFail"/>.</summary>
    private static int Run(string program, IReadOnlyList<string> arguments, bool mayFail = false)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new NodeServiceException(NodeServiceError.ManagerFailed, $"{program} did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            if (mayFail)
            {
                return -1;
            }

            throw new NodeServiceException(NodeServiceError.ManagerFailed, $"{program} cannot be run: {ex.Message}");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 && !mayFail)
            {
                var text = string.IsNullOrWhiteSpace(error) ? output.Result : error;
                throw new NodeServiceException(NodeServiceError.ManagerFailed, $"{program} {string.Join(' ', arguments)} failed (exit code {process.ExitCode}): {text.Trim()}");
            }

            return process.ExitCode;
        }
    }
}

/// <summary>The service managers a node can be registered with.</summary>
public enum ServicePlatform
{
    Systemd,
    Launchd,
    Windows,
}

/// <summary>A node's service as Install-P2PService -PassThru describes it.</summary>
/// <param name="ServiceName">The service's name: p2ptransfer-NAME.</param>
/// <param name="NodeName">The node's name.</param>
/// <param name="UnitPath">The unit file, property list, or (Windows) the service's registry key.</param>
/// <param name="CommandLine">The program and arguments the service runs: the host with the state directory.</param>
/// <param name="Managed">False when the unit was written to P2P_SERVICE_DIRECTORY and the service manager was not told.</param>
/// <param name="StopTimeout">How long the service manager waits for a stop before it kills the host: the drain and a margin.</param>
public sealed record NodeServiceInfo(
    string ServiceName,
    string NodeName,
    ServicePlatform Platform,
    ServiceScope Scope,
    string UnitPath,
    string StateDirectory,
    IReadOnlyList<string> CommandLine,
    bool Managed,
    TimeSpan StopTimeout)
{
    /// <summary>The command line as one line of text.</summary>
    public string Command => string.Join(' ', CommandLine.Select(a => a.Contains(' ') ? "\"" + a + "\"" : a));
}

/// <summary>Why a service could not be installed or removed.</summary>
public enum NodeServiceError
{
    /// <summary>The host program is not in the module's host folder.</summary>
    HostMissing,

    /// <summary>A unit of that name exists and was not written by Install-P2PService.</summary>
    NotOurs,

    /// <summary>There is no such service.</summary>
    NotFound,

    /// <summary>The service manager (systemctl, launchctl, sc.exe) refused or could not be run.</summary>
    ManagerFailed,
}

/// <summary>A service could not be installed or removed; <see cref="Error"/> says why.</summary>
public sealed class NodeServiceException(NodeServiceError error, string message) : Exception(message)
{
    public NodeServiceError Error { get; } = error;
}
