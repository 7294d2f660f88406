using P2PTransfer.Common;
using P2PTransfer.Peers;

namespace P2PTransfer.Node;

/// <summary>
/// Keeps the node linked: at start and then every <paramref name="interval"/>, dials every -Peer host that is not
/// linked and, while the node has fewer live links than <paramref name="targetPeers"/>, the hosts it knows (those it
/// was linked to most recently first, then those its peers told it of), each past its backoff, four at a time, while
/// <paramref name="mayDial"/> says so (not once the node is closing). The first round comes one interval after start,
/// after the dials the node was started with. Each round also runs <paramref name="eachRound"/> (the node sends its
/// peer exchange then) and saves the host cache when it changed.
/// </summary>
internal sealed class LinkKeeper(
    HostCache hosts,
    Func<bool> mayDial,
    Func<int> liveLinks,
    Func<Guid, bool> isLinked,
    Func<string, Guid?, CancellationToken, Task<P2PPeer>> dial,
    int targetPeers,
    TimeSpan interval,
    Action eachRound,
    NodeLog log,
    TimeProvider? clock = null)
{
    private const int DialsAtOnce = 4;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(interval, clock ?? TimeProvider.System);
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await TickAsync(cancellationToken).ConfigureAwait(false);
                hosts.Save();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            hosts.Save();
        }
    }

    /// <summary>One round: dials what is due and waits for those dials.</summary>
    public Task TickAsync(CancellationToken cancellationToken)
    {
        if (!mayDial())
        {
            return Task.CompletedTask;
        }

        eachRound();
        var due = hosts.Due(isLinked, targetPeers - liveLinks());
        return Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = DialsAtOnce, CancellationToken = cancellationToken }, async (host, token) =>
        {
            if (!mayDial() || !hosts.BeginDial(host.Endpoint))
            {
                return;
            }

            bool failed = true;
            try
            {
                // A host whose id is known must prove it: an address taken over by another node is not linked.
                var peer = await dial(host.Endpoint, host.NodeId == Guid.Empty ? null : host.NodeId, token).ConfigureAwait(false);
                hosts.Reached(host.Endpoint, peer.NodeId);
                failed = false;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                log.Write(NodeLogLevel.Verbose, $"could not link to {host.Endpoint} again: {ex.Message}");
            }
            finally
            {
                hosts.EndDial(host.Endpoint, failed);
            }
        });
    }
}
