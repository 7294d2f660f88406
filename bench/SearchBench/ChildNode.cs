using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace P2PTransfer.Bench;

/// <summary>
/// The node processes this bench started: listed in a file (for bench/search.sh to clean up after a crash) and
/// killed when this process exits or is interrupted.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Running = new();
    private static readonly List<PosixSignalRegistration> Signals = [];
    private static string? _pidFile;

    public static void KillOnExit(string pidFile)
    {
        _pidFile = pidFile;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();

        // Not cancelled: the default action (exit) follows once the children are gone.
        Signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => KillAll()));
        Signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => KillAll()));
    }

    public static void Add(Process process)
    {
        Running[process.Id] = process;
        if (_pidFile is not null)
        {
            lock (Running)
            {
                File.AppendAllText(_pidFile, $"{process.Id}\n");
            }
        }
    }

    public static void Remove(Process process) => Running.TryRemove(process.Id, out _);

    public static void KillAll()
    {
        foreach (var process in Running.Values)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }
    }
}

/// <summary>One 'SearchBench node' process, driven over its standard input and output, one line each way.</summary>
internal sealed class ChildNode : IAsyncDisposable
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);
    private readonly Process _process;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly StringBuilder _errors = new();

    private ChildNode(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public string Endpoint { get; private set; } = string.Empty;

    public int ProcessId => _process.Id;

    /// <summary>Starts the process and waits for its first line: the endpoint once it is indexed and has dialed its links.</summary>
    public static async Task<ChildNode> StartAsync(string name, string address, string share, string state, IEnumerable<string> dial, TimeSpan lifetime, TimeSpan timeout)
    {
        var start = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this program is unknown"),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ChildNode).Assembly.Location);
        }

        foreach (var arg in new[] { "node", "--address", address, "--name", name, "--share", share, "--state", state, "--dial", string.Join(",", dial), "--lifetime", $"{lifetime.TotalSeconds:0}" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start node process {name}");
        ChildProcesses.Add(process);
        var child = new ChildNode(process, name);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._errors)
                {
                    child._errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        try
        {
            var line = await child.ReadLineAsync(timeout);
            if (!line.StartsWith("endpoint ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"node process {name} answered '{line}'");
            }

            child.Endpoint = line["endpoint ".Length..];
            return child;
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }
    }

    public async Task<string> AskAsync(string command)
    {
        await _gate.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await ReadLineAsync(AnswerTimeout);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<CounterSnapshot> CountersAsync()
    {
        var line = await AskAsync("counters");
        return line.StartsWith("counters ", StringComparison.Ordinal)
            ? CounterSnapshot.Parse(line["counters ".Length..])
            : throw new InvalidOperationException($"node process {Name} answered '{line}' to 'counters'");
    }

    public async Task<int> PeersAsync()
    {
        var line = await AskAsync("peers");
        return line.StartsWith("peers ", StringComparison.Ordinal)
            ? int.Parse(line["peers ".Length..], System.Globalization.CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"node process {Name} answered '{line}' to 'peers'");
    }

    /// <summary>Asks the node to stop; kills it when it has not exited within 5 s.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("quit");
                await _process.StandardInput.FlushAsync();
            }
        }
        catch (IOException)
        {
            // Its input is closed: it is exiting already.
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                Report.Note($"node process {Name} ({_process.Id}) could not be killed: {ex.Message}");
            }
        }
        finally
        {
            ChildProcesses.Remove(_process);
            _process.Dispose();
        }
    }

    public string Errors()
    {
        lock (_errors)
        {
            return _errors.ToString().Trim();
        }
    }

    private async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        string? line;
        try
        {
            line = await _process.StandardOutput.ReadLineAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"node process {Name} did not answer within {timeout.TotalSeconds:0} s");
        }

        if (line is null)
        {
            var errors = Errors();
            throw new InvalidOperationException($"node process {Name} exited{(_process.HasExited ? $" with code {_process.ExitCode}" : string.Empty)}{(errors.Length > 0 ? $": {errors}" : string.Empty)}");
        }

        return line;
    }
}
