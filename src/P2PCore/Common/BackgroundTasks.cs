using System.Collections.Concurrent;

namespace P2PTransfer.Common;

/// <summary>
/// The node's long-running tasks (accept loop, connections, keep-alive). Every task is kept until it ends,
/// its failure is logged, and stopping the node waits for all of them.
/// </summary>
internal sealed class BackgroundTasks(NodeLog log)
{
    private readonly ConcurrentDictionary<Task, string> _running = new();

    public int Count => _running.Count;

    public void Run(string what, Func<Task> work)
    {
        var task = Task.Run(work);
        _running[task] = what;
        _ = task.ContinueWith(
            finished =>
            {
                _running.TryRemove(finished, out _);
                if (finished.Exception is { } failure)
                {
                    log.Write(NodeLogLevel.Error, $"{what} failed: {failure.GetBaseException()}");
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Waits for every task to end; false if some were still running at the timeout.</summary>
    public async Task<bool> WaitAllAsync(TimeSpan timeout)
    {
        var all = Task.WhenAll(_running.Keys);
        try
        {
            await all.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch
        {
            // Failures were logged by the continuation.
        }

        return true;
    }
}
