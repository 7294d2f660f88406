using System.Collections.Concurrent;
using System.Management.Automation;
using P2PTransfer.Common;
using P2PTransfer.Node;
using P2PTransfer.Protocol;

namespace P2PTransfer.Module;

/// <summary>
/// What every cmdlet shares: a cancellation token that Ctrl+C trips, waiting on engine tasks from the
/// pipeline thread, and one mapping from engine exceptions to error records with stable ids.
/// </summary>
public abstract class P2PCmdlet : PSCmdlet
{
    private static readonly TimeSpan PumpInterval = TimeSpan.FromMilliseconds(100);
    // The commands of the pipeline running on this thread whose progress moves while another command holds the
    // thread (a download fed by a search that runs on): every command of a pipeline runs on its one thread.
    [ThreadStatic]
    private static List<P2PCmdlet>? t_progressSources;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<(NodeLogLevel Level, string Line)> _trace = new();

    protected CancellationToken StopToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>
    /// Waits for an engine task on the pipeline thread; Ctrl+C stops the wait. While waiting it writes what the
    /// engine traced (see <see cref="TraceNode"/>) as verbose records, since only this thread may write them.
    /// </summary>
    protected T Await<T>(Task<T> task)
    {
        WaitPumping(task);
        return task.GetAwaiter().GetResult();
    }

    protected void Await(Task task)
    {
        WaitPumping(task);
        task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Enumerates an engine stream on the pipeline thread, item by item as they arrive, writing trace lines while it
    /// waits; Ctrl+C stops it promptly and the stream is disposed (which ends its work in the engine).
    /// </summary>
    protected IEnumerable<T> AwaitEach<T>(IAsyncEnumerable<T> source)
    {
        var enumerator = source.GetAsyncEnumerator(StopToken);
        Task<bool>? next = null;
        try
        {
            while (true)
            {
                next = enumerator.MoveNextAsync().AsTask();
                WaitPumping(next);
                if (!next.GetAwaiter().GetResult())
                {
                    yield break;
                }

                yield return enumerator.Current;
            }
        }
        finally
        {
            // The stream observes StopToken, so a pending step ends promptly; a stream cannot be disposed mid-step.
            bool idle = next is null || WaitQuietly(next);
            if (idle)
            {
                WaitQuietly(enumerator.DisposeAsync().AsTask());
            }
        }
    }

    /// <summary>Queues a line for -Verbose, written on the pipeline thread while the command waits (callable from any thread).</summary>
    protected void Trace(string line) => QueueTrace(NodeLogLevel.Verbose, line);

    // Bounded: a chatty engine cannot grow this queue without limit while the command waits.
    private void QueueTrace(NodeLogLevel level, string line)
    {
        if (_trace.Count < 1000)
        {
            _trace.Enqueue((level, line));
        }
    }

    /// <summary>Waits up to 2 s for engine clean-up, even after Ctrl+C; true when it finished.</summary>
    protected static bool WaitQuietly(Task task)
    {
        try
        {
            return task.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
            return true;
        }
    }

    /// <summary>Relays a node's log while this command waits on the engine: warnings and errors as warnings, the rest to -Verbose.</summary>
    protected IDisposable TraceNode(IManagedNode node)
    {
        if (node.Log is not { } log)
        {
            return new Unsubscribe(() => { });
        }

        void Relay(object? sender, NodeLogEntry entry)
        {
            QueueTrace(entry.Level, $"[{node.Name}] {entry.Message}");
        }

        log.Written += Relay;
        return new Unsubscribe(() => log.Written -= Relay);
    }

    private void WaitPumping(Task task)
    {
        try
        {
            while (!task.Wait(PumpInterval, StopToken))
            {
                WriteTrace();
                RelayProgress();
            }
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (AggregateException)
        {
            // The caller rethrows the task's own exception with GetResult.
        }

        WriteTrace();
    }

    /// <summary>
    /// From now until <see cref="StopRelayingProgress"/>, a P2P command of the same pipeline that waits on the engine
    /// (Find-P2PFile upstream, searching on) writes this command's <see cref="PendingProgress"/> for it: a command
    /// downstream runs only when the upstream one hands it an object, and its bars would stand still meanwhile.
    /// </summary>
    protected void RelayProgressWhileUpstreamWaits()
    {
        t_progressSources ??= [];
        if (!t_progressSources.Contains(this))
        {
            t_progressSources.Add(this);
        }
    }

    protected void StopRelayingProgress() => t_progressSources?.Remove(this);

    /// <summary>
    /// Progress this command would write now, with the source id it writes under (so that the records of its bars
    /// are the same whoever writes them). Called on the pipeline thread by another command of the pipeline.
    /// </summary>
    protected virtual IEnumerable<(long SourceId, ProgressRecord Record)> PendingProgress() => [];

    private void RelayProgress()
    {
        if (t_progressSources is not { Count: > 0 } sources)
        {
            return;
        }

        foreach (var source in sources.ToArray())
        {
            if (source != this)
            {
                foreach (var (sourceId, record) in source.PendingProgress())
                {
                    CommandRuntime.WriteProgress(sourceId, record);
                }
            }
        }
    }

    /// <summary>Writes the trace lines queued by engine threads (pipeline thread only).</summary>
    protected void WriteTrace()
    {
        while (_trace.TryDequeue(out var entry))
        {
            if (entry.Level >= NodeLogLevel.Warning)
            {
                WriteWarning(entry.Line);
            }
            else
            {
                WriteVerbose(entry.Line);
            }
        }
    }

    /// <summary>Sleeps, waking early on Ctrl+C.</summary>
    protected void Sleep(TimeSpan duration)
    {
        if (StopToken.WaitHandle.WaitOne(duration))
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// A path the user gave (relative, '~', a PSDrive) as a full file-system path. Paths of other providers (Env:,
    /// Variable:, the registry) are refused with <see cref="ArgumentException"/> naming <paramref name="parameter"/>.
    /// </summary>
    protected string ResolvePath(string path, string parameter)
    {
        var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
        if (provider.ImplementingType != typeof(Microsoft.PowerShell.Commands.FileSystemProvider))
        {
            throw new ArgumentException($"-{parameter} '{path}' is not a path of the file system (it belongs to the {provider.Name} provider)");
        }

        return resolved;
    }

    /// <summary>A path the user gave, as <see cref="ResolvePath"/> makes it; for helpers of the module.</summary>
    internal string ResolveFileSystemPath(string path, string parameter) => ResolvePath(path, parameter);

    /// <summary>
    /// The node to act on: the one given, else the session's only running node. A given node that cannot be used
    /// (stopped) is an error for that input only; having no node to default to stops the command.
    /// </summary>
    protected bool TryResolveNode(IManagedNode? given, out IManagedNode node)
    {
        try
        {
            node = NodeRegistry.Resolve(given);
            return true;
        }
        catch (P2PCmdletException ex) when (given is not null)
        {
            WriteError(ToErrorRecord(ex, given));
            node = null!;
            return false;
        }
        catch (P2PCmdletException ex)
        {
            ThrowTerminatingError(ToErrorRecord(ex, null));
            throw;
        }
    }

    /// <summary>
    /// -NetworkKey's value: a key file's path (a string or a file), or the key itself as a SecureString. Throws
    /// FormatException for what holds no key, ArgumentException for another type.
    /// </summary>
    protected byte[]? ReadNetworkKey(object? given, Func<string, string>? resolve = null) => (given is PSObject wrapped ? wrapped.BaseObject : given) switch
    {
        null => null,
        System.Security.SecureString secure => Identity.NetworkKey.Parse(new System.Net.NetworkCredential(string.Empty, secure).Password),
        FileInfo file => Identity.NetworkKey.ReadFile(file.FullName),
        string path => Identity.NetworkKey.ReadFile(resolve is null ? ResolvePath(path, "NetworkKey") : resolve(path)),
        var other => throw new ArgumentException($"-NetworkKey takes the path of a key file or the key as a SecureString, not a {other.GetType().Name}"),
    };

    /// <summary>The error record for an engine failure: id and category derive from the protocol code or exception type.</summary>
    protected internal static ErrorRecord ToErrorRecord(Exception exception, object? target)
    {
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerException! : exception;
        return inner switch
        {
            P2PCmdletException cmdlet => new ErrorRecord(cmdlet, cmdlet.ErrorId, cmdlet.Category, target),
            P2PException p2p => new ErrorRecord(p2p, p2p.Code.ToString(), CategoryOf(p2p.Code), target),
            P2PTransfer.Transfer.DestinationFolderException => new ErrorRecord(inner, "DestinationFolderFailed", ErrorCategory.WriteError, target),
            DirectoryNotFoundException or FileNotFoundException => new ErrorRecord(inner, "PathNotFound", ErrorCategory.ObjectNotFound, target),
            ArgumentException or FormatException => new ErrorRecord(inner, "InvalidArgument", ErrorCategory.InvalidArgument, target),
            TimeoutException => new ErrorRecord(inner, "Timeout", ErrorCategory.OperationTimeout, target),
            UnauthorizedAccessException => new ErrorRecord(inner, "AccessDenied", ErrorCategory.PermissionDenied, target),
            _ => new ErrorRecord(inner, inner.GetType().Name, ErrorCategory.NotSpecified, target),
        };
    }

    /// <summary>Runs one item's work; a failure becomes a non-terminating error for that item and the rest carry on.</summary>
    protected void ForEachItem<T>(IEnumerable<T> items, Action<T> work)
    {
        foreach (var item in items)
        {
            try
            {
                work(item);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ToErrorRecord(ex, item));
            }
        }
    }

    private static ErrorCategory CategoryOf(ProtocolError code) => code switch
    {
        ProtocolError.NodeClosing or ProtocolError.NodeBusy or ProtocolError.Shutdown or ProtocolError.AddressInUse => ErrorCategory.ResourceUnavailable,
        ProtocolError.HostNotFound => ErrorCategory.ObjectNotFound,
        ProtocolError.NotP2PNode => ErrorCategory.InvalidData,
        ProtocolError.ConnectionLost or ProtocolError.Disconnected => ErrorCategory.ConnectionError,
        ProtocolError.Timeout or ProtocolError.HandshakeTimeout or ProtocolError.KeepAliveTimeout => ErrorCategory.OperationTimeout,
        ProtocolError.SelfLink => ErrorCategory.InvalidOperation,
        ProtocolError.UnknownFile => ErrorCategory.ObjectNotFound,
        ProtocolError.DestinationExists => ErrorCategory.ResourceExists,
        ProtocolError.VerificationFailed => ErrorCategory.InvalidData,
        ProtocolError.InsufficientSpace or ProtocolError.FileChanged => ErrorCategory.ResourceUnavailable,
        ProtocolError.PieceOutOfRange or ProtocolError.InvalidQuery => ErrorCategory.InvalidArgument,
        ProtocolError.DuplicateLink => ErrorCategory.ResourceExists,
        ProtocolError.StateDirectoryInUse => ErrorCategory.ResourceBusy,
        ProtocolError.TooManyConnections => ErrorCategory.LimitsExceeded,
        ProtocolError.NotMember or ProtocolError.NotTrusted or ProtocolError.WrongNode or ProtocolError.IdentityMismatch => ErrorCategory.SecurityError,
        _ => ErrorCategory.ProtocolError,
    };

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
