using System.Diagnostics;
using System.Globalization;

namespace P2PTransfer.Bench;

/// <summary>The bystander (<see cref="Bystander"/>) in a child process: started, told to measure, read back.</summary>
internal sealed class BystanderProcess : IAsyncDisposable
{
    private readonly Process _process;

    private BystanderProcess(Process process) => _process = process;

    public static async Task<BystanderProcess> StartAsync(string node, string share, int maxSeconds)
    {
        var self = typeof(BystanderProcess).Assembly.Location;
        var info = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { self, "bystander", "--node", node, "--share", share, "--max-seconds", maxSeconds.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("the bystander did not start");
        var bystander = new BystanderProcess(process);
        var ready = await bystander.ReadLineAsync(TimeSpan.FromSeconds(60));
        if (ready is null || !ready.StartsWith("ready", StringComparison.Ordinal))
        {
            await bystander.DisposeAsync();
            throw new InvalidOperationException($"the bystander could not reach the node: {ready ?? "no answer in 60 s"}");
        }

        return bystander;
    }

    /// <summary>Measures for <paramref name="duration"/>, then returns the bystander's figures.</summary>
    public async Task<Result> MeasureAsync(TimeSpan duration, Action started)
    {
        await _process.StandardInput.WriteLineAsync("go");
        await _process.StandardInput.FlushAsync();
        started();
        await Task.Delay(duration);
        await _process.StandardInput.WriteLineAsync("stop");
        await _process.StandardInput.FlushAsync();
        var line = await ReadLineAsync(TimeSpan.FromSeconds(30));
        return new Result(line ?? "result (no answer from the bystander within 30 s)");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Only this child, by its own handle.
            _process.Kill();
        }

        _process.Dispose();
    }

    private async Task<string?> ReadLineAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        try
        {
            return await _process.StandardOutput.ReadLineAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The 'result key=value ...' line.</summary>
    internal sealed class Result(string line)
    {
        private readonly Dictionary<string, string> _fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);

        public string Line { get; } = line;

        public string Text(string key) => _fields.TryGetValue(key, out var v) ? v : "";

        public double Number(string key) => double.TryParse(Text(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
    }
}
