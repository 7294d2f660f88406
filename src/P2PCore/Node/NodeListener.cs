using System.Diagnostics;
using System.Net.Sockets;
using P2PTransfer.Common;
using P2PTransfer.Identity;
using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Node;

/// <summary>
/// The node's server side: accepts connections, reads each one's Hello, and hands it by role to a client session
/// or a peer link, refusing with a Welcome that says why when the node is busy (over its connection limit) or closing.
/// Every connection is first judged by where it comes from (<see cref="ConnectionSources"/>), before any handshake
/// work: an address over its share of connections is refused with <see cref="ProtocolError.TooManyConnections"/>,
/// a banned one closed at once. Near its connection limit the node closes its oldest idle client to make room.
/// </summary>
/// <param name="newClient">Makes the session of a client that said Hello.</param>
/// <param name="newLink">Makes the link of a peer that said Hello.</param>
/// <param name="runSession">Runs a registered session until it ends.</param>
/// <param name="sources">The connections each address holds, and its bans.</param>
/// <param name="idleClientAfter">A client with nothing under way for this long may be closed when the node nears its connection limit.</param>
internal sealed class NodeListener(
    IConnectionListener listener,
    NodeIdentity identity,
    NodeCredentials credentials,
    int maxConnections,
    TimeSpan handshakeTimeout,
    LinkRegistry registry,
    NodeCounters counters,
    NodeLog log,
    BackgroundTasks tasks,
    Func<FrameConnection, Hello, ClientSession> newClient,
    Func<FrameConnection, Hello, PeerLink> newLink,
    Func<Session, Task> runSession,
    ConnectionSources sources,
    TimeSpan idleClientAfter)
{
    private static readonly TimeSpan BusyHandshakeTimeout = TimeSpan.FromSeconds(1);

    private int _inboundConnections;

    /// <summary>Inbound connections open right now, including those still in their handshake.</summary>
    public int InboundConnections => Volatile.Read(ref _inboundConnections);

    /// <summary>Accepts until <paramref name="stopping"/> is cancelled or the listener is disposed.</summary>
    public async Task AcceptLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            ITransportConnection transport;
            try
            {
                transport = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                // Per-connection accept failures (reset before accept, out of descriptors) must not stop the listener.
                log.Write(NodeLogLevel.Warning, $"accept failed: {ex.Message}");
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }

            counters.ConnectionAccepted();
            var verdict = sources.Admit(transport.RemoteAddress, out var ticket, out var sourceRefusal);
            if (verdict == SourceVerdict.Banned)
            {
                // A banned address costs nothing: no task, no place, no frame.
                counters.RefusedSource(banned: true);
                transport.Abort();
                transport.Dispose();
                continue;
            }

            tasks.Run($"connection from {transport.RemoteAddress}", async () =>
            {
                if (verdict == SourceVerdict.Refused)
                {
                    // Not counted against the node's limit: it is told why within a second and closed.
                    counters.RefusedSource(banned: false);
                    await ServeConnectionAsync(transport, busy: false, null, sourceRefusal, stopping).ConfigureAwait(false);
                    return;
                }

                // Counted from accept, so a flood of connections that never say Hello is bounded too.
                try
                {
                    int inbound = Interlocked.Increment(ref _inboundConnections);
                    if (inbound > maxConnections - (maxConnections / 8))
                    {
                        CloseOldestIdleClient();
                    }

                    await ServeConnectionAsync(transport, inbound > maxConnections, ticket, null, stopping).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _inboundConnections);
                    ticket?.Dispose();
                }
            });
        }
    }

    /// <summary>Stops listening: the port is released.</summary>
    public void Stop() => listener.Dispose();

    private async Task ServeConnectionAsync(ITransportConnection transport, bool busy, ConnectionSources.SourceTicket? ticket, string? sourceRefusal, CancellationToken stopping)
    {
        // Over the limit the Hello is still read (briefly), so the dialer gets a clear 'busy' rather than a reset.
        // The TLS handshake counts within the same time.
        var timeout = busy || sourceRefusal is not null ? TimeSpan.FromTicks(Math.Min(BusyHandshakeTimeout.Ticks, handshakeTimeout.Ticks)) : handshakeTimeout;
        long started = Environment.TickCount64;
        TlsConnection secured;
        using (var tlsTimer = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            tlsTimer.CancelAfter(timeout);
            try
            {
                secured = await Handshake.SecureAsync(transport, credentials, tlsTimer.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is P2PException or OperationCanceledException)
            {
                counters.HandshakeFailed();
                log.Write(NodeLogLevel.Verbose, $"TLS handshake with {transport.RemoteAddress} failed: {(ex is OperationCanceledException ? "not completed in time" : ex.Message)}");
                return;
            }
        }

        var connection = new FrameConnection(secured);
        Hello hello;
        try
        {
            var left = TimeSpan.FromMilliseconds(Math.Max(0, timeout.TotalMilliseconds - (Environment.TickCount64 - started)));
            hello = await Handshake.AcceptAsync(connection, left, stopping).ConfigureAwait(false);
        }
        catch (ProtocolException ex)
        {
            counters.HandshakeFailed();
            log.Write(NodeLogLevel.Verbose, $"handshake with {connection.RemoteEndPoint} failed: {ex.Message}");
            await connection.CloseAsync(ErrorMessage.Create(ex.Code, ex.Message)).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is P2PException or OperationCanceledException)
        {
            counters.HandshakeFailed();
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (sourceRefusal is not null)
        {
            await Refuse(connection, new P2PException(ProtocolError.TooManyConnections, sourceRefusal)).ConfigureAwait(false);
            return;
        }

        if (busy)
        {
            counters.Refused(closing: false);
            await connection.CloseAsync(identity.Welcome(NodeAvailability.Busy, hello)).ConfigureAwait(false);
            return;
        }

        if (ticket is not null && !ticket.TryTakeRole(hello.Role == ConnectionRole.Peer, out var roleRefusal))
        {
            counters.RefusedSource(banned: false);
            await Refuse(connection, new P2PException(ProtocolError.TooManyConnections, roleRefusal)).ConfigureAwait(false);
            return;
        }

        if (!credentials.Admits(secured.RemoteId))
        {
            counters.HandshakeFailed();
            await Refuse(connection, new P2PException(ProtocolError.NotTrusted, $"node {identity.Name} admits only its trusted nodes, and node {NodeIdText.Format(secured.RemoteId)} is not one of them")).ConfigureAwait(false);
            return;
        }

        if (hello.Role == ConnectionRole.Peer && hello.NodeId == identity.Id)
        {
            await Refuse(connection, new P2PException(ProtocolError.SelfLink, $"cannot link node {identity.Name} to itself")).ConfigureAwait(false);
            return;
        }

        // On a private network the Welcome carries this node's proof and goes out at once: the dialer's proof must
        // come back before the session is registered. On an open one the registry sends it, in step with closing.
        var welcome = identity.Welcome(NodeAvailability.Available, hello);
        if (credentials.NetworkKey is { } networkKey)
        {
            welcome = welcome with { Proof = Membership.Proof(networkKey, Membership.ServerRole, secured.RemoteId, credentials.Id, hello.Nonce, welcome.Nonce) };
            var left = TimeSpan.FromMilliseconds(Math.Max(0, timeout.TotalMilliseconds - (Environment.TickCount64 - started)));
            if (!await AdmitMemberAsync(connection, hello, welcome, left, stopping).ConfigureAwait(false))
            {
                return;
            }
        }

        var welcomeAtRegistration = welcome.Proof is null ? welcome : null;

        // Decoding the Hello made sure a peer gives its node id and a valid endpoint.
        Session session = hello.Role == ConnectionRole.Client ? newClient(connection, hello) : newLink(connection, hello);
        bool registered = session is PeerLink link ? registry.RegisterInbound(link, welcomeAtRegistration) : registry.TryRegister(session, welcomeAtRegistration);
        if (!registered)
        {
            await (welcomeAtRegistration is null
                ? connection.CloseAsync(Bye.Create(ProtocolError.Shutdown, $"node {identity.Name} ({identity.Endpoint}) is shutting down"))
                : RefuseClosing(connection)).ConfigureAwait(false);
            return;
        }

        await runSession(session).ConfigureAwait(false);
    }

    /// <summary>Sends a private network's Welcome and takes the dialer's proof; false (the connection closed) when it fails.</summary>
    private async Task<bool> AdmitMemberAsync(FrameConnection connection, Hello hello, Welcome welcome, TimeSpan left, CancellationToken stopping)
    {
        try
        {
            await connection.SendAsync(welcome, stopping).ConfigureAwait(false);
            await Handshake.ExpectMembershipProofAsync(connection, hello, welcome, left, stopping).ConfigureAwait(false);
            return true;
        }
        catch (ProtocolException ex)
        {
            counters.HandshakeFailed();
            log.Write(NodeLogLevel.Verbose, $"refused {connection.RemoteEndPoint}: {ex.Message}");
            await connection.CloseAsync(ErrorMessage.Create(ex.Code, ex.Message)).ConfigureAwait(false);
            return false;
        }
        catch (Exception ex) when (ex is P2PException or OperationCanceledException)
        {
            counters.HandshakeFailed();
            await connection.DisposeAsync().ConfigureAwait(false);
            return false;
        }
    }

    private async Task Refuse(FrameConnection connection, P2PException refusal)
    {
        log.Write(NodeLogLevel.Verbose, $"refused {connection.RemoteEndPoint}: {refusal.Message}");
        await connection.CloseAsync(ErrorMessage.Create(refusal.Code, refusal.Message)).ConfigureAwait(false);
    }

    /// <summary>
    /// The node nears its connection limit: the client that has had nothing under way the longest (at least
    /// <c>idleClientAfter</c>) is closed with Bye(NodeBusy), so idle sockets cannot hold every place.
    /// </summary>
    private void CloseOldestIdleClient()
    {
        ClientSession? oldest = null;
        long oldestSince = long.MaxValue;
        foreach (var session in registry.Sessions)
        {
            if (session is ClientSession client && !client.IsClosing && client.IdleSince() is { } since
                && Stopwatch.GetElapsedTime(since) >= idleClientAfter && since < oldestSince)
            {
                oldest = client;
                oldestSince = since;
            }
        }

        if (oldest is null)
        {
            return;
        }

        counters.IdleClientClosed();
        log.Write(NodeLogLevel.Verbose, $"closing idle client {oldest.RemoteEndpoint} to make room");
        _ = oldest.CloseAsync(ProtocolError.NodeBusy, $"node {identity.Name} closed this connection to make room: nothing under way on it for {Stopwatch.GetElapsedTime(oldestSince).TotalSeconds:0.#} s");
    }

    private Task RefuseClosing(FrameConnection connection) => connection.CloseAsync(identity.Welcome(NodeAvailability.Closing));
}
