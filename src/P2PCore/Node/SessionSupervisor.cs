using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Node;

/// <summary>
/// Runs the node's sessions: each one's read loop, the keep-alive tick over all of them, and the node's
/// bookkeeping as one ends (it is forgotten before its socket closes).
/// </summary>
/// <param name="linkEnded">Called as a peer link ends, before it leaves the peer table.</param>
internal sealed class SessionSupervisor(
    LinkRegistry registry,
    ConnectionLiveness liveness,
    NodeCounters counters,
    NodeLog log,
    BackgroundTasks tasks,
    Action<PeerLink> linkEnded,
    CancellationToken stopping)
{
    private static readonly TimeSpan KeepAliveTick = TimeSpan.FromMilliseconds(250);

    /// <summary>Runs a registered session's read loop in the background.</summary>
    public void Start(Session session) => tasks.Run($"session with {session.RemoteEndpoint}", () => RunAsync(session));

    /// <summary>Runs a registered session's read loop until the session ends.</summary>
    public Task RunAsync(Session session)
    {
        session.Ending = Forget;
        return session.RunAsync(stopping);
    }

    /// <summary>The node is closing: every session is told, so that no new request is sent to it.</summary>
    public void AnnounceClosing()
    {
        foreach (var session in registry.Sessions)
        {
            session.Connection.TrySend(new Status(NodeAvailability.Closing));
        }
    }

    /// <summary>
    /// Says goodbye (Shutdown) to every session. A client's searches have all ended by now (finished, or cut off at
    /// the drain timeout): each one's SearchDone is queued on its connection before the Bye (section 9, steps 3 and 4),
    /// within <paramref name="searchesDoneWithin"/> for a client that reads slowly.
    /// </summary>
    public Task CloseAllAsync(string goodbye, TimeSpan searchesDoneWithin) =>
        Task.WhenAll(registry.Sessions.Select(s => s is ClientSession client
            ? client.CloseForShutdownAsync(goodbye, searchesDoneWithin)
            : s.CloseAsync(ProtocolError.Shutdown, goodbye)));

    /// <summary>
    /// Every tick: keep-alive on every session (<see cref="ConnectionLiveness"/>), a client's upload checked, and
    /// duplicate links that waited too long for their dialer's verdict closed. Ends when the node stops.
    /// </summary>
    public async Task KeepAliveLoopAsync()
    {
        using var timer = new PeriodicTimer(KeepAliveTick);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                foreach (var session in registry.Sessions)
                {
                    session.KeepAlive(liveness);
                    (session as ClientSession)?.Tick();
                }

                registry.ExpirePendingLinks(Environment.TickCount64);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Runs as a session ends, before its socket closes: the node forgets it first.</summary>
    private void Forget(Session session)
    {
        registry.Remove(session);
        if (session.Connection.WriteFailure is { } bug)
        {
            log.Write(NodeLogLevel.Error, $"could not write a frame to {session.RemoteEndpoint}: {bug}");
        }

        var reason = session.CloseReason;
        if (reason == ProtocolError.KeepAliveTimeout)
        {
            counters.KeepAliveTimeout();
        }
        else if (reason is >= ProtocolError.MalformedFrame and < ProtocolError.SelfLink)
        {
            counters.ProtocolError();
        }

        if (session is ClientSession client)
        {
            client.EndWork();
        }

        if (session is not PeerLink link)
        {
            return;
        }

        linkEnded(link);
        registry.Unlink(link);
    }
}
