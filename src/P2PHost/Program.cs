using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using P2PTransfer.Host;
using P2PTransfer.Node;

// P2PHost --state-directory DIR: runs the node whose settings are DIR/node.json (Install-P2PService and
// Start-P2PNode write it) until SIGTERM, SIGINT or a Windows service stop, then stops it gracefully (the drain, Bye to
// every peer, the port freed) and exits 0. Exit codes: 0 stopped, 1 the node failed, 2 a wrong command line, 3
// unreadable settings.
if (!HostArguments.TryParse(args, out var stateDirectory, out var problem))
{
    Console.Error.WriteLine($"P2PHost: {problem}");
    Console.Error.WriteLine("usage: P2PHost --state-directory <folder>");
    return 2;
}

NodeSettings settings;
NodeOptions options;
try
{
    settings = NodeSettings.Load(stateDirectory) ?? new NodeSettings();
    options = settings.ToOptions(stateDirectory);
}
catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException or FormatException or ArgumentException)
{
    Console.Error.WriteLine($"P2PHost: {ex.Message}");
    return 3;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    // The state directory is the whole configuration: no appsettings, no environment or command-line overrides.
    DisableDefaults = true,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Logging.AddSimpleConsole(options =>
{
    options.SingleLine = true;
    options.TimestampFormat = "HH:mm:ss.fff ";
});
// Under systemd: Type=notify readiness and the journal's log format; as a Windows service: its start and stop.
builder.Services.AddSystemd();
builder.Services.AddWindowsService(options => options.ServiceName = "P2PTransfer");
// The host waits for the drain and the goodbyes, with time to spare, before it gives up on a stop.
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(settings.DrainTimeoutSec) + NodeHostService.StopMargin);
builder.Services.AddSingleton(options);
builder.Services.AddHostedService<NodeHostService>();

using var host = builder.Build();
try
{
    await host.RunAsync();
    return 0;
}
catch (Exception ex)
{
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("P2PHost").LogCritical("{Message}", ex.Message);
    Console.Error.WriteLine($"P2PHost: the node in '{stateDirectory}' stopped: {ex.Message}");
    return 1;
}
