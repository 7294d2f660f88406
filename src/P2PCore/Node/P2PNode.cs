using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Node;

/// <summary>
/// A running node: the server that accepts clients and peer links, and the composition root of the engine.
/// Many nodes may run in one process; nothing here is static.
/// </summary>
public sealed class P2PNode : IAsyncDisposable
{
    private static readonly TimeSpan KeepAliveTick = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan BusyHandshakeTimeout = TimeSpan.FromSeconds(1);

    private readonly NodeOptions _options;
    private readonly NodeStateDirectory _state;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Session, byte> _sessions = new();
    private readonly PeerTable _peers = new();
    private readonly BackgroundTasks _tasks;
    private readonly object _gate = new();
    private Task? _stopTask;
    private int _inboundConnections;
    private NodeStatus _status = NodeStatus.Starting;

    private P2PNode(NodeOptions options, string name, NodeStateDirectory state, Socket listener, string advertisedHost)
    {
        _options = options;
        _state = state;
        _listener = listener;
        _tasks = new BackgroundTasks(Log);
        Name = name;
        Id = state.NodeId;
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        ListenAddress = ((IPEndPoint)listener.LocalEndPoint!).Address.ToString();
        Endpoint = NetworkAddress.Format(advertisedHost, Port);
        Shares = [.. options.Shares];
        StartedAt = DateTimeOffset.Now;
    }

    public event EventHandler<P2PPeer>? PeerConnected;

    public event EventHandler<P2PPeer>? PeerDisconnected;

    public event EventHandler<NodeStatus>? StatusChanged;

    /// <summary>Random on first start, then stable: kept in the state directory.</summary>
    public Guid Id { get; }

    public string Name { get; }

    /// <summary>'host:port' that other nodes and clients dial.</summary>
    public string Endpoint { get; }

    public int Port { get; }

    public string ListenAddress { get; }

    public NodeStatus Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    public IReadOnlyList<string> Shares { get; }

    public string StateDirectory => _state.FullPath;

    public DateTimeOffset StartedAt { get; }

    public int PeerCount => _peers.Count;

    /// <summary>Open connections: peer links and clients.</summary>
    public int ConnectionCount => _sessions.Count;

    /// <summary>Inbound connections open right now, including those still in their handshake.</summary>
    public int InboundConnections => Volatile.Read(ref _inboundConnections);

    public NodeCounters Counters { get; } = new();

    public NodeLog Log { get; } = new();

    /// <summary>Work under way (requests being answered, uploads) that closing waits for.</summary>
    public WorkTracker Work { get; } = new();

    public TimeSpan DrainTimeout => _options.DrainTimeout;

    /// <summary>Binds the listener and starts serving. The returned node is Running.</summary>
    public static Task<P2PNode> StartAsync(NodeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var share in options.Shares)
        {
            if (!Directory.Exists(share))
            {
                throw new DirectoryNotFoundException($"share '{share}' is not a folder");
            }
        }

        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"port {options.Port} is outside 0-65535");
        }

        var listenAddress = ParseListenAddress(options.ListenAddress);
        var (name, state) = NodeStateDirectory.Resolve(options);
        Socket? listener = null;
        try
        {
            listener = Bind(listenAddress, options.Port);
            var host = options.AdvertisedHost ?? AdvertisedHostFor(listenAddress);
            var node = new P2PNode(options, name, state, listener, host);
            node.Begin();
            return Task.FromResult(node);
        }
        catch
        {
            listener?.Dispose();
            state.Dispose();
            throw;
        }
    }

    /// <summary>Opens a lasting link to another node's server.</summary>
    public async Task<P2PPeer> ConnectPeerAsync(string address, CancellationToken cancellationToken = default)
    {
        EnsureRunning();
        var hello = new Hello(ProtocolLimits.Version, ConnectionRole.Peer, Id, Endpoint, Name);
        var (connection, welcome) = await Handshake.DialAsync(address, NodeOptions.DefaultPort, hello, _options.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
        if (welcome.NodeId == Id)
        {
            await connection.CloseAsync(Bye.Create(ProtocolError.SelfLink, "self link")).ConfigureAwait(false);
            throw new P2PException(ProtocolError.SelfLink, $"cannot link node {Name} to itself ({address} is this node)");
        }

        var link = new PeerLink(this, connection, PeerDirection.Outbound, welcome.NodeId, welcome.Name, welcome.Endpoint);
        var refusal = TryRegisterPeer(link);
        if (refusal is not null)
        {
            await connection.CloseAsync(Bye.Create(refusal.Code, refusal.Message)).ConfigureAwait(false);
            throw refusal;
        }

        StartSession(link);
        return link.Snapshot();
    }

    public IReadOnlyList<P2PPeer> GetPeers() => [.. _peers.Snapshot().Where(l => !l.Closed.IsCompleted).Select(l => l.Snapshot())];

    /// <summary>Closes the link to a node; false if there was none.</summary>
    public async Task<bool> DisconnectPeerAsync(Guid nodeId)
    {
        if (!_peers.TryGet(nodeId, out var link))
        {
            return false;
        }

        await link.CloseAsync(ProtocolError.Disconnected, $"node {Name} closed the link").ConfigureAwait(false);
        await link.Closed.WaitAsync(CloseWait).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Graceful stop: announce Closing, refuse new work, let work under way finish within the drain timeout,
    /// say Bye to everyone, and return once the port is released. Safe to call more than once.
    /// </summary>
    public Task StopAsync(TimeSpan? drainTimeout = null)
    {
        lock (_gate)
        {
            if (_stopTask is null)
            {
                _status = NodeStatus.Closing;
                _stopTask = StopCoreAsync(drainTimeout ?? _options.DrainTimeout);
            }

            return _stopTask;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    public override string ToString() => $"{Name} ({Endpoint})";

    private async Task StopCoreAsync(TimeSpan drainTimeout)
    {
        await Task.Yield();
        StatusChanged?.Invoke(this, NodeStatus.Closing);
        Log.Write(NodeLogLevel.Information, $"closing; draining {Work.Active} piece(s) of work for up to {drainTimeout.TotalSeconds:0.#} s");
        foreach (var session in _sessions.Keys)
        {
            session.Connection.TrySend(new Status(NodeAvailability.Closing));
        }

        if (!await Work.DrainAsync(drainTimeout).ConfigureAwait(false))
        {
            Log.Write(NodeLogLevel.Warning, $"drain timeout: cancelling {Work.Active} piece(s) of work still running");
        }

        var goodbye = $"node {Name} ({Endpoint}) is shutting down";
        await Task.WhenAll(_sessions.Keys.Select(s => s.CloseAsync(ProtocolError.Shutdown, goodbye))).ConfigureAwait(false);
        _stopping.Cancel();
        _listener.Dispose();
        if (!await _tasks.WaitAllAsync(CloseWait).ConfigureAwait(false))
        {
            Log.Write(NodeLogLevel.Warning, $"{_tasks.Count} task(s) did not end within {CloseWait.TotalSeconds} s of stopping");
        }

        _state.Dispose();
        lock (_gate)
        {
            _status = NodeStatus.Stopped;
        }

        StatusChanged?.Invoke(this, NodeStatus.Stopped);
        Log.Write(NodeLogLevel.Information, "stopped");
    }

    private void Begin()
    {
        lock (_gate)
        {
            _status = NodeStatus.Running;
        }

        _tasks.Run("accept loop", AcceptLoopAsync);
        _tasks.Run("keep-alive", KeepAliveLoopAsync);
        Log.Write(NodeLogLevel.Information, $"listening on {NetworkAddress.Format((IPEndPoint)_listener.LocalEndPoint!)}, advertised as {Endpoint}");
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Per-connection accept failures (reset before accept, out of descriptors) must not stop the listener.
                Log.Write(NodeLogLevel.Warning, $"accept failed: {ex.Message}");
                await Task.Delay(50, _stopping.Token).ConfigureAwait(false);
                continue;
            }

            Counters.ConnectionAccepted();
            _tasks.Run($"connection from {socket.RemoteEndPoint}", async () =>
            {
                // Counted from accept, so a flood of connections that never say Hello is bounded too.
                try
                {
                    bool busy = Interlocked.Increment(ref _inboundConnections) > _options.MaxConnections;
                    await ServeConnectionAsync(socket, busy).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _inboundConnections);
                }
            });
        }
    }

    private async Task ServeConnectionAsync(Socket socket, bool busy)
    {
        var connection = new FrameConnection(socket);
        Hello hello;
        try
        {
            // Over the limit the Hello is still read (briefly), so the dialer gets a clear 'busy' rather than a reset.
            var timeout = busy ? TimeSpan.FromTicks(Math.Min(BusyHandshakeTimeout.Ticks, _options.HandshakeTimeout.Ticks)) : _options.HandshakeTimeout;
            hello = await Handshake.AcceptAsync(connection, timeout, _stopping.Token).ConfigureAwait(false);
        }
        catch (ProtocolException ex)
        {
            Counters.HandshakeFailed();
            Log.Write(NodeLogLevel.Verbose, $"handshake with {connection.RemoteEndPoint} failed: {ex.Message}");
            await connection.CloseAsync(ErrorMessage.Create(ex.Code, ex.Message)).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is P2PException or OperationCanceledException)
        {
            Counters.HandshakeFailed();
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (busy)
        {
            Counters.Refused(closing: false);
            await connection.CloseAsync(new Welcome(ProtocolLimits.Version, NodeAvailability.Busy, Id, Endpoint, Name)).ConfigureAwait(false);
            return;
        }

        Session session;
        if (hello.Role == ConnectionRole.Peer)
        {
            if (hello.NodeId == Guid.Empty)
            {
                await Refuse(connection, new ProtocolException(ProtocolError.UnexpectedMessage, "a peer link needs the dialer's node id")).ConfigureAwait(false);
                return;
            }

            if (hello.NodeId == Id)
            {
                await Refuse(connection, new P2PException(ProtocolError.SelfLink, $"cannot link node {Name} to itself")).ConfigureAwait(false);
                return;
            }

            var remoteEndpoint = hello.Endpoint.Length > 0 ? hello.Endpoint : connection.RemoteEndPoint;
            var link = new PeerLink(this, connection, PeerDirection.Inbound, hello.NodeId, hello.Name, remoteEndpoint);
            if (TryRegisterPeer(link) is { } refusal)
            {
                await (refusal is NodeUnavailableException ? RefuseClosing(connection) : Refuse(connection, refusal)).ConfigureAwait(false);
                return;
            }

            session = link;
        }
        else
        {
            var client = new ClientSession(connection, hello);
            if (TryRegister(client) is not null)
            {
                await RefuseClosing(connection).ConfigureAwait(false);
                return;
            }

            session = client;
        }

        // Registered first and welcomed second, so a Closing announcement cannot slip between the two.
        connection.TrySend(new Welcome(ProtocolLimits.Version, NodeAvailability.Available, Id, Endpoint, Name));
        await RunSessionAsync(session).ConfigureAwait(false);
    }

    private void StartSession(Session session) => _tasks.Run($"session with {session.RemoteEndpoint}", () => RunSessionAsync(session));

    private async Task RunSessionAsync(Session session)
    {
        try
        {
            await session.RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _sessions.TryRemove(session, out _);
            if (session.CloseReason is >= ProtocolError.MalformedFrame and < ProtocolError.SelfLink and not ProtocolError.KeepAliveTimeout)
            {
                Counters.ProtocolError();
            }

            if (session.CloseReason == ProtocolError.KeepAliveTimeout)
            {
                Counters.KeepAliveTimeout();
            }

            if (session is PeerLink link && _peers.Remove(link))
            {
                Counters.PeerLinkClosed();
                Log.Write(NodeLogLevel.Information, $"link to {link.RemoteName} ({link.RemoteEndpoint}) closed: {link.CloseMessage}");
                PeerDisconnected?.Invoke(this, link.Snapshot());
            }
        }
    }

    /// <summary>Adds a session unless the node is closing.</summary>
    private NodeUnavailableException? TryRegister(Session session)
    {
        lock (_gate)
        {
            if (_status != NodeStatus.Running)
            {
                Counters.Refused(closing: true);
                return new NodeUnavailableException(ProtocolError.NodeClosing, $"node {Name} ({Endpoint}) is shutting down");
            }

            _sessions[session] = 0;
            return null;
        }
    }

    private P2PException? TryRegisterPeer(PeerLink link)
    {
        lock (_gate)
        {
            if (_peers.TryGet(link.RemoteId, out var existing) && !existing.Closed.IsCompleted)
            {
                return new P2PException(ProtocolError.DuplicateLink, $"node {Name} is already linked to node {link.RemoteName} ({existing.RemoteEndpoint})");
            }

            if (TryRegister(link) is { } refusal)
            {
                return refusal;
            }

            if (!_peers.TryAdd(link))
            {
                _sessions.TryRemove(link, out _);
                return new P2PException(ProtocolError.DuplicateLink, $"node {Name} is already linked to node {link.RemoteName}");
            }
        }

        Counters.PeerLinkOpened();
        Log.Write(NodeLogLevel.Information, $"linked to {link.RemoteName} ({link.RemoteEndpoint}), {link.Direction}");
        PeerConnected?.Invoke(this, link.Snapshot());
        return null;
    }

    private async Task Refuse(FrameConnection connection, P2PException refusal)
    {
        Log.Write(NodeLogLevel.Verbose, $"refused {connection.RemoteEndPoint}: {refusal.Message}");
        await connection.CloseAsync(ErrorMessage.Create(refusal.Code, refusal.Message)).ConfigureAwait(false);
    }

    private Task RefuseClosing(FrameConnection connection) =>
        connection.CloseAsync(new Welcome(ProtocolLimits.Version, NodeAvailability.Closing, Id, Endpoint, Name));

    private async Task KeepAliveLoopAsync()
    {
        using var timer = new PeriodicTimer(KeepAliveTick);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                foreach (var session in _sessions.Keys)
                {
                    session.KeepAlive(_options.KeepAliveInterval, _options.DeadAfter);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void EnsureRunning()
    {
        var status = Status;
        if (status != NodeStatus.Running)
        {
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {Name} is {status.ToString().ToLowerInvariant()}");
        }
    }

    private static IPAddress ParseListenAddress(string text) => text switch
    {
        "*" or "" => IPAddress.Any,
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(text, out var address) => address,
        _ => throw new ArgumentException($"'{text}' is not an IP address to listen on", nameof(text)),
    };

    private static Socket Bind(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(512);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new P2PException(ProtocolError.ConnectionLost, $"cannot listen on {NetworkAddress.Format(address.ToString(), port)}: {ex.Message}", ex);
        }
    }

    /// <summary>Servers know private addresses (the seed): listening everywhere, advertise the first private IPv4 of an interface that is up.</summary>
    private static string AdvertisedHostFor(IPAddress listenAddress)
    {
        if (!listenAddress.Equals(IPAddress.Any) && !listenAddress.Equals(IPAddress.IPv6Any))
        {
            return listenAddress.ToString();
        }

        var address = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        return (address ?? IPAddress.Loopback).ToString();
    }
}
