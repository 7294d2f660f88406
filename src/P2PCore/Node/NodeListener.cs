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
/// </summary>
/// <param name="newClient">Makes the session of a client that said Hello.</param>
/// <param name="newLink">Makes the link of a peer that said Hello.</param>
/// <param name="runSession">Runs a registered session until it ends.</param>
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
    Func<Session, Task> runSession)
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
            tasks.Run($"connection from {transport.RemoteAddress}", async () =>
            {
                // Counted from accept, so a flood of connections that never say Hello is bounded too.
                try
                {
                    bool busy = Interlocked.Increment(ref _inboundConnections) > maxConnections;
                    await ServeConnectionAsync(transport, busy, stopping).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _inboundConnections);
                }
            });
        }
    }

    /// <summary>Stops listening: the port is released.</summary>
    public void Stop() => listener.Dispose();

    private async Task ServeConnectionAsync(ITransportConnection transport, bool busy, CancellationToken stopping)
    {
        // Over the limit the Hello is still read (briefly), so the dialer gets a clear 'busy' rather than a reset.
        // The TLS handshake counts within the same time.
        var timeout = busy ? TimeSpan.FromTicks(Math.Min(BusyHandshakeTimeout.Ticks, handshakeTimeout.Ticks)) : handshakeTimeout;
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

        if (busy)
        {
            counters.Refused(closing: false);
            await connection.CloseAsync(identity.Welcome(NodeAvailability.Busy, hello)).ConfigureAwait(false);
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

    private Task RefuseClosing(FrameConnection connection) => connection.CloseAsync(identity.Welcome(NodeAvailability.Closing));
}
