using System.Diagnostics;
using System.Text.RegularExpressions;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// tcpdump capturing the loopback interface, on given TCP ports only, into a pcap file. Started and stopped by
/// this test process (by its id); ready by construction: <see cref="StartAsync"/> returns once tcpdump says it is
/// listening. Needs tcpdump and the right to capture (root); ./build.ps1 Test installs tcpdump when it runs as root.
/// </summary>
internal sealed partial class LoopbackCapture : IAsyncDisposable
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(20);
    private readonly Process _process;
    private readonly Task<string> _rest;

    private LoopbackCapture(Process process, Task<string> rest, string file)
    {
        _process = process;
        _rest = rest;
        File = file;
    }

    public string File { get; }

    /// <summary>What tcpdump said when it stopped (its packet counts).</summary>
    public string Summary { get; private set; } = string.Empty;

    public static async Task<LoopbackCapture> StartAsync(string file, IEnumerable<int> ports)
    {
        var tcpdump = new[] { "/usr/bin/tcpdump", "/usr/sbin/tcpdump", "/bin/tcpdump", "/sbin/tcpdump" }.FirstOrDefault(System.IO.File.Exists)
            ?? throw new InvalidOperationException("tcpdump is not installed: './build.ps1 Test' installs it with apt-get when it runs as root; or install it yourself (apt-get install tcpdump)");
        var start = new ProcessStartInfo(tcpdump) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        // -B: a 64 MiB kernel buffer, so loopback bursts are not dropped; -U: every packet goes to the file as it is
        // captured; -s 0: whole packets; -n: no name look-ups.
        foreach (var argument in new[] { "-i", "lo", "--immediate-mode", "-B", "65536", "-U", "-n", "-s", "0", "-w", file, string.Join(" or ", ports.Select(p => $"tcp port {p}")) })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("tcpdump did not start");
        using var ready = new CancellationTokenSource(Bounded);
        var said = new List<string>();
        try
        {
            // Bounded: by the time limit, and by tcpdump ending (end of its stderr).
            while (await process.StandardError.ReadLineAsync(ready.Token) is { } line)
            {
                said.Add(line);
                if (line.Contains("listening on", StringComparison.Ordinal))
                {
                    return new LoopbackCapture(process, process.StandardError.ReadToEndAsync(), file);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        Stop(process);
        throw new InvalidOperationException($"tcpdump did not start capturing: {string.Join(" | ", said)}");
    }

    /// <summary>
    /// Stops the capture once it holds everything sent so far, and returns how many packets the kernel dropped.
    /// tcpdump writes packets in the order they crossed the interface, so a sentinel sent now to
    /// <paramref name="endpoint"/> (a captured port) marks the end: once the file holds it, it holds all that came
    /// before. Then SIGINT, so tcpdump closes the file.
    /// </summary>
    public async Task<int> StopAsync(string endpoint)
    {
        var sentinel = System.Text.Encoding.ASCII.GetBytes($"END-OF-CAPTURE-{Guid.NewGuid():N}");
        var address = await P2PTransfer.Net.NetworkAddress.ResolveAsync(endpoint, 0, CancellationToken.None);
        using (var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            await socket.ConnectAsync(address);
            await socket.SendAsync(sentinel, System.Net.Sockets.SocketFlags.None);
        }

        // Bounded: the sentinel reaches the file within moments; the limit only guards a broken capture.
        var deadline = DateTime.UtcNow + Bounded;
        while (!Holds(sentinel) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        if (!Holds(sentinel))
        {
            throw new InvalidOperationException("the capture never caught up with the traffic");
        }

        using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync().WaitAsync(Bounded);
        }

        await _process.WaitForExitAsync().WaitAsync(Bounded);
        Summary = await _rest.WaitAsync(Bounded);
        var dropped = DroppedByKernel().Match(Summary);
        return dropped.Success ? int.Parse(dropped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }

    private bool Holds(byte[] bytes)
    {
        using var stream = new FileStream(File, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var all = new byte[stream.Length];
        stream.ReadExactly(all);
        return all.AsSpan().IndexOf(bytes) >= 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Stop(_process);
            await _process.WaitForExitAsync().WaitAsync(Bounded);
        }

        _process.Dispose();
    }

    private static void Stop(Process process)
    {
        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already ended.
        }
    }

    [GeneratedRegex(@"(\d+) packets? dropped by kernel")]
    private static partial Regex DroppedByKernel();
}
