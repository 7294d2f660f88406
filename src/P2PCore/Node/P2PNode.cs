using System.Collections.Concurrent;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Net;
using P2PTransfer.Common;
using P2PTransfer.Index;
using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Protocol;
using P2PTransfer.Search;
using P2PTransfer.Transfer;

namespace P2PTransfer.Node;

/// <summary>
/// A running node: the server that accepts clients and peer links, and the composition root of the engine.
/// Many nodes may run in one process; nothing here is static.
/// </summary>
public sealed class P2PNode : IAsyncDisposable, IPeerHost
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
    private readonly List<PeerLink> _pendingLinks = [];
    private readonly BackgroundTasks _tasks;
    private readonly object _gate = new();
    private Task? _stopTask;
    private int _inboundConnections;
    private long _linkSequence;
    private NodeStatus _status = NodeStatus.Starting;

    private P2PNode(NodeOptions options, string name, NodeStateDirectory state, Socket listener, string advertisedHost, NodeLog log, ShareIndex index)
    {
        _options = options;
        Log = log;
        Index = index;
        _state = state;
        _listener = listener;
        _tasks = new BackgroundTasks(Log);
        Name = name;
        Id = state.NodeId;
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        ListenAddress = ((IPEndPoint)listener.LocalEndPoint!).Address.ToString();
        Endpoint = NetworkAddress.Format(advertisedHost, Port);
        if (!WireRules.IsEndpoint(Endpoint))
        {
            // Peers refuse a Hello whose endpoint breaks the protocol's grammar (protocol.md section 5).
            throw new ArgumentException($"the advertised endpoint '{Text.Truncate(Endpoint, 300)}' is not 'host:port' with a host name or IP address that the protocol allows (see -AdvertisedHost)");
        }

        if (!WireRules.IsNodeName(Name))
        {
            // A Welcome must carry a node name (protocol.md section 5): a bad one fails here, never on the wire.
            throw new ArgumentException($"'{Text.Escape(Text.Truncate(Name, 100))}' is not a valid node name: use letters, digits, '.', '_' or '-' (at most 64), the first a letter or digit");
        }
        StartedAt = DateTimeOffset.Now;
        Search = new SearchRouter(
            new SourceNode(Id, Name, Endpoint),
            new NodeSearchLinks(this),
            Work,
            Index.Search,
            Log,
            new SearchRouterOptions(options.SearchWorkers, options.SearchQueueCapacity, options.QueriesPerPeerPerSecond, options.DeadAfter + TimeSpan.FromSeconds(4), NodeOptions.DefaultPort),
            () => Status != NodeStatus.Running);
        Uploads = new UploadService(index, Work, options.MaxUploads, name);
    }

    /// <summary>Raised on an engine thread when a peer link is in use.</summary>
    public event EventHandler<PeerEventArgs>? PeerConnected;

    /// <summary>Raised on an engine thread when a peer link has gone.</summary>
    public event EventHandler<PeerEventArgs>? PeerDisconnected;

    /// <summary>Raised on an engine thread when the node starts closing and when it has stopped.</summary>
    public event EventHandler<NodeStatusEventArgs>? StatusChanged;

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

    public IReadOnlyList<string> Shares => Index.Roots;

    /// <summary>Files and bytes hashed of everything shared.</summary>
    public IndexProgress IndexProgress => Index.GetProgress();

    /// <summary>What this node shares: hashed, persisted, searchable.</summary>
    public ShareIndex Index { get; }

    public string StateDirectory => _state.FullPath;

    public DateTimeOffset StartedAt { get; }

    /// <summary>Live peer links (not counting ones that are closing).</summary>
    public int PeerCount => _peers.Snapshot().Count(l => !l.IsClosing);

    /// <summary>Open connections: peer links and clients.</summary>
    public int ConnectionCount => _sessions.Count;

    /// <summary>The open connections: peer links and clients.</summary>
    internal IEnumerable<Session> Sessions => _sessions.Keys;

    /// <summary>Inbound connections open right now, including those still in their handshake.</summary>
    public int InboundConnections => Volatile.Read(ref _inboundConnections);

    public NodeCounters Counters { get; } = new();

    /// <summary>This node's part in network search: cascade workers, caches, routing of responses.</summary>
    public SearchRouter Search { get; }

    /// <summary>What the search routing has done: requests received, processed, cascaded, dropped; responses routed and delivered.</summary>
    public SearchCounters SearchCounters => Search.Counters;

    /// <summary>This node's server side of transfers: upload slots, and files served by hash from the index.</summary>
    public UploadService Uploads { get; }

    /// <summary>What this node has uploaded: pieces and bytes served, uploads started, requests refused.</summary>
    public TransferCounters TransferCounters => Uploads.Counters;

    internal NodeOptions Options => _options;

    internal BackgroundTasks Tasks => _tasks;

    public NodeLog Log { get; }

    /// <summary>Work under way (requests being answered, uploads) that closing waits for.</summary>
    public WorkTracker Work { get; } = new();

    /// <summary>Binds the listener and starts serving. The returned node is Running.</summary>
    public static async Task<P2PNode> StartAsync(NodeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var share in options.Index.Shares ?? [])
        {
            if (!Directory.Exists(share) && !File.Exists(share))
            {
                throw new DirectoryNotFoundException($"share '{share}' does not exist");
            }
        }

        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"port {options.Port} is outside 0-65535");
        }

        var listenAddress = ParseListenAddress(options.ListenAddress);
        // Nothing may be written into a shared folder, not even the state folder's lock and id.
        var (name, state) = NodeStateDirectory.Resolve(options, path => ShareIndex.CheckShareable(options.Index.Shares ?? [], path));
        Socket? listener = null;
        ShareIndex? index = null;
        try
        {
            var log = new NodeLog();
            index = ShareIndex.Open(state.FullPath, options.Index, log);
            listener = Bind(listenAddress, options.Port);
            var host = options.AdvertisedHost ?? AdvertisedHostFor(listenAddress);
            var node = new P2PNode(options, name, state, listener, host, log, index);
            node.Begin();
            return node;
        }
        catch
        {
            listener?.Dispose();
            if (index is not null)
            {
                await index.DisposeAsync().ConfigureAwait(false);
            }

            state.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a lasting link to another node's server. When the two nodes dial each other at the same moment, both
    /// keep the same one of the two connections (the one dialed by the lower node id) and this returns that link.
    /// </summary>
    public async Task<P2PPeer> ConnectPeerAsync(string address, CancellationToken cancellationToken = default)
    {
        EnsureRunning();
        long dialStarted = Interlocked.Read(ref _linkSequence);
        var hello = new Hello(ProtocolLimits.Version, ConnectionRole.Peer, Id, Endpoint, Name);
        var (connection, welcome) = await Handshake.DialAsync(address, NodeOptions.DefaultPort, hello, _options.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
        if (welcome.NodeId == Id)
        {
            await connection.CloseAsync(Bye.Create(ProtocolError.SelfLink, "self link")).ConfigureAwait(false);
            throw new P2PException(ProtocolError.SelfLink, $"cannot link node {Name} to itself ({address} is this node)");
        }

        var link = new PeerLink(connection, PeerDirection.Outbound, welcome.NodeId, welcome.Name, welcome.Endpoint, Interlocked.Increment(ref _linkSequence), Log, new NodeSearchLinks(this), l => new P2PPeer(l, this));
        var (registered, kept, refusal) = RegisterOutbound(link, dialStarted);
        if (registered)
        {
            StartSession(link);
            return refusal is null ? link.Snapshot() : throw refusal;
        }

        var reason = refusal ?? new P2PException(ProtocolError.DuplicateLink, $"node {Name} keeps the link dialed by {welcome.Name}, the lower node id");
        await connection.CloseAsync(Bye.Create(reason.Code, reason.Message)).ConfigureAwait(false);
        return kept?.Snapshot() ?? throw reason;
    }

    /// <summary>Live links, for cascading.</summary>
    internal IReadOnlyList<PeerLink> LinkedPeers() => [.. _peers.Snapshot().Where(l => !l.IsClosing)];

    internal PeerLink? FindPeer(Guid nodeId) => _peers.TryGet(nodeId, out var link) ? link : null;

    public IReadOnlyList<P2PPeer> GetPeers() => [.. _peers.Snapshot().Where(l => !l.IsClosing).Select(l => l.Snapshot())];

    /// <summary>Closes the link to a node, waiting until the other node has let go of it; false if there was none.</summary>
    public async Task<bool> DisconnectPeerAsync(Guid nodeId)
    {
        if (!_peers.TryGet(nodeId, out var link) || link.IsClosing)
        {
            return false;
        }

        await link.CloseAsync(ProtocolError.Disconnected, $"node {Name} closed the link").ConfigureAwait(false);
        if (await Task.WhenAny(link.Closed, Task.Delay(CloseWait)).ConfigureAwait(false) != link.Closed)
        {
            Log.Write(NodeLogLevel.Warning, $"link to {link.RemoteName} did not close within {CloseWait.TotalSeconds} s");
        }

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
                // From the moment the node says it is closing, nothing new begins (a request racing the announcement too).
                _status = NodeStatus.Closing;
                Work.RefuseNew();
                _stopTask = StopCoreAsync(drainTimeout ?? _options.DrainTimeout);
            }

            return _stopTask;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>
    /// Searches the network with this node as the entry server: results come as servers answer, until the timeout,
    /// <see cref="SearchOptions.MaxResults"/>, or cancellation. Throws <see cref="ArgumentException"/> for an invalid query.
    /// </summary>
    public async IAsyncEnumerable<P2PSearchResult> SearchAsync(FileQuery query, SearchOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnsureRunning();
        var search = Search.Begin(query, options ?? new SearchOptions());
        try
        {
            await foreach (var batch in search.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var result in batch.Results())
                {
                    yield return result;
                }
            }
        }
        finally
        {
            search.Cancel();
        }
    }

    /// <summary>Searches this node's own index; results say this node is their source (0 hops).</summary>
    public IEnumerable<P2PSearchResult> SearchLocal(FileQuery query, int maxResults = int.MaxValue, CancellationToken cancellationToken = default) =>
        Index.Search(query, maxResults, cancellationToken).SelectMany(file =>
            new ResultBatch(new SourceNode(Id, Name, Endpoint), 0, false, null, [new FoundFile(file.Name, file.Size, file.Hash!, file.RelativePath)]).Results());

    public override string ToString() => $"{Name} ({Endpoint})";

    private async Task StopCoreAsync(TimeSpan drainTimeout)
    {
        await Task.Yield();
        try
        {
            Raise(StatusChanged, new NodeStatusEventArgs(NodeStatus.Closing));
            Log.Write(NodeLogLevel.Information, $"closing; draining {Work.Active} piece(s) of work for up to {drainTimeout.TotalSeconds:0.#} s");
            foreach (var session in _sessions.Keys)
            {
                session.Connection.TrySend(new Status(NodeAvailability.Closing));
            }

            if (!await Work.DrainAsync(drainTimeout).ConfigureAwait(false))
            {
                Log.Write(NodeLogLevel.Warning, $"drain timeout: cancelled {Work.Active} piece(s) of work still running");
            }

            // A client's searches have all ended by now (finished, or cut off at the drain timeout): each one's
            // SearchDone is queued on its connection before the Bye (section 9, steps 3 and 4).
            var goodbye = $"node {Name} ({Endpoint}) is shutting down";
            var searchesDoneWithin = _options.DeadAfter * 2;
            await Task.WhenAll(_sessions.Keys.Select(s => s is ClientSession client
                ? client.CloseForShutdownAsync(goodbye, searchesDoneWithin)
                : s.CloseAsync(ProtocolError.Shutdown, goodbye))).ConfigureAwait(false);
        }
        finally
        {
            // Whatever happened above, the port is released and the state directory unlocked before Stop returns.
            _stopping.Cancel();
            _listener.Dispose();
            if (!await _tasks.WaitAllAsync(CloseWait).ConfigureAwait(false))
            {
                Log.Write(NodeLogLevel.Warning, $"{_tasks.Count} task(s) did not end within {CloseWait.TotalSeconds} s of stopping");
            }

            await Index.DisposeAsync().ConfigureAwait(false);
            _state.Dispose();
            lock (_gate)
            {
                _status = NodeStatus.Stopped;
            }

            Log.Write(NodeLogLevel.Information, "stopped");
            Raise(StatusChanged, new NodeStatusEventArgs(NodeStatus.Stopped));
        }
    }

    private void Begin()
    {
        lock (_gate)
        {
            _status = NodeStatus.Running;
        }

        _tasks.Run("accept loop", AcceptLoopAsync);
        _tasks.Run("keep-alive", KeepAliveLoopAsync);
        Search.Start(_tasks, _stopping.Token);
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
                await Task.Delay(50).ConfigureAwait(false);
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

        var welcome = new Welcome(ProtocolLimits.Version, NodeAvailability.Available, Id, Endpoint, Name);
        if (hello.Role == ConnectionRole.Client)
        {
            var client = new ClientSession(this, connection, hello);
            if (!TryRegister(client, welcome))
            {
                await RefuseClosing(connection).ConfigureAwait(false);
                return;
            }

            await RunSessionAsync(client).ConfigureAwait(false);
            return;
        }

        if (hello.NodeId == Id)
        {
            await Refuse(connection, new P2PException(ProtocolError.SelfLink, $"cannot link node {Name} to itself")).ConfigureAwait(false);
            return;
        }

        // Decoding the Hello made sure a peer gives its node id and a valid endpoint.
        var link = new PeerLink(connection, PeerDirection.Inbound, hello.NodeId, hello.Name, hello.Endpoint, Interlocked.Increment(ref _linkSequence), Log, new NodeSearchLinks(this), l => new P2PPeer(l, this));
        if (!RegisterInbound(link, welcome))
        {
            await RefuseClosing(connection).ConfigureAwait(false);
            return;
        }

        await RunSessionAsync(link).ConfigureAwait(false);
    }

    private void StartSession(Session session) => _tasks.Run($"session with {session.RemoteEndpoint}", () => RunSessionAsync(session));

    private Task RunSessionAsync(Session session)
    {
        session.Ending = Forget;
        return session.RunAsync(_stopping.Token);
    }

    /// <summary>Runs as a session ends, before its socket closes: the node forgets it first.</summary>
    private void Forget(Session session)
    {
        _sessions.TryRemove(session, out _);
        if (session.Connection.WriteFailure is { } bug)
        {
            Log.Write(NodeLogLevel.Error, $"could not write a frame to {session.RemoteEndpoint}: {bug}");
        }

        var reason = session.CloseReason;
        if (reason == ProtocolError.KeepAliveTimeout)
        {
            Counters.KeepAliveTimeout();
        }
        else if (reason is >= ProtocolError.MalformedFrame and < ProtocolError.SelfLink)
        {
            Counters.ProtocolError();
        }

        if (session is ClientSession client)
        {
            client.EndWork();
        }

        if (session is not PeerLink link)
        {
            return;
        }

        Search.OnLinkEnded(PeerSearchLink.Of(link));

        lock (_gate)
        {
            _pendingLinks.Remove(link);
        }

        if (_peers.Remove(link))
        {
            Retire(link);
            PromotePending(link.RemoteId);
        }
    }

    /// <summary>Adds a session unless the node is closing; its Welcome is queued under the same lock, so a Closing announcement cannot overtake it.</summary>
    private bool TryRegister(Session session, Welcome? welcome)
    {
        lock (_gate)
        {
            if (_status != NodeStatus.Running)
            {
                Counters.Refused(closing: true);
                return false;
            }

            _sessions[session] = 0;
            if (welcome is not null)
            {
                session.Connection.TrySend(welcome);
            }

            return true;
        }
    }

    /// <summary>
    /// The dialer's verdict on a new link, which the other side follows. Of two live links between the same two
    /// nodes, both nodes keep the one dialed by the lower node id; of two dialed by this node, the older one. The
    /// dial is refused as a duplicate when the nodes were already linked before it began (the link that stays may
    /// still be the new one, by the rule). Returns whether the new link is in use, else the link that stays.
    /// </summary>
    private (bool Registered, PeerLink? Kept, P2PException? Refusal) RegisterOutbound(PeerLink link, long dialStarted)
    {
        PeerLink? replaced = null;
        P2PException? duplicate = null;
        lock (_gate)
        {
            if (_peers.TryGet(link.RemoteId, out var existing) && !existing.IsClosing)
            {
                if (existing.Sequence <= dialStarted)
                {
                    duplicate = new P2PException(ProtocolError.DuplicateLink, $"node {Name} is already linked to node {link.RemoteName} ({existing.RemoteEndpoint})");
                }

                bool keepNew = existing.Direction == PeerDirection.Inbound && CompareIds(Id, existing.RemoteId) < 0;
                if (!keepNew)
                {
                    return (false, duplicate is null ? existing : null, duplicate);
                }

                replaced = existing;
            }

            if (!TryRegister(link, welcome: null))
            {
                return (false, null, new NodeUnavailableException(ProtocolError.NodeClosing, $"node {Name} ({Endpoint}) is shutting down"));
            }

            Retire(_peers.Set(link));
        }

        if (replaced is not null)
        {
            // Its read loop awaits this close, so a failure is observed there.
            _ = replaced.CloseAsync(ProtocolError.DuplicateLink, $"replaced by the link dialed by {Name}, the lower node id");
        }

        Linked(link);
        return duplicate is null ? (true, null, null) : (true, link, duplicate);
    }

    /// <summary>
    /// Adds a link a peer dialed. While another live link to the same node exists, the new one waits, out of the
    /// peer table, for the dialer's verdict: a goodbye (it keeps the old link), or the old link closing (it keeps
    /// this one, which then takes the old one's place). False when the node is closing.
    /// </summary>
    private bool RegisterInbound(PeerLink link, Welcome welcome)
    {
        lock (_gate)
        {
            if (!TryRegister(link, welcome))
            {
                return false;
            }

            if (_peers.TryGet(link.RemoteId, out var existing) && !existing.IsClosing)
            {
                _pendingLinks.Add(link);
                return true;
            }

            Retire(_peers.Set(link));
        }

        Linked(link);
        return true;
    }

    /// <summary>A pending link takes the place of the link to the same node that just ended.</summary>
    private void PromotePending(Guid remoteId)
    {
        PeerLink? promoted;
        lock (_gate)
        {
            promoted = _pendingLinks.FirstOrDefault(l => l.RemoteId == remoteId && !l.IsClosing);
            if (promoted is null || (_peers.TryGet(remoteId, out var current) && !current.IsClosing))
            {
                return;
            }

            _pendingLinks.Remove(promoted);
            Retire(_peers.Set(promoted));
        }

        Linked(promoted);
    }

    /// <summary>Accounts for a link that left the peer table (closed, or replaced by a newer link to the same node).</summary>
    private void Retire(PeerLink? link)
    {
        if (link is null)
        {
            return;
        }

        Counters.PeerLinkClosed();
        Log.Write(NodeLogLevel.Information, $"link to {link.RemoteName} ({link.RemoteEndpoint}) closed: {link.CloseMessage ?? "replaced"}");
        Raise(PeerDisconnected, new PeerEventArgs(link.Snapshot()));
    }

    private void Linked(PeerLink link)
    {
        Counters.PeerLinkOpened();
        Log.Write(NodeLogLevel.Information, $"linked to {link.RemoteName} ({link.RemoteEndpoint}), {link.Direction}");
        Raise(PeerConnected, new PeerEventArgs(link.Snapshot()));
    }

    /// <summary>Orders node ids by their wire bytes, so every implementation agrees on which of two is lower.</summary>
    private static int CompareIds(Guid left, Guid right)
    {
        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        left.TryWriteBytes(a, bigEndian: true, out _);
        right.TryWriteBytes(b, bigEndian: true, out _);
        return a.SequenceCompareTo(b);
    }

    /// <summary>Raises an event; a subscriber that throws is logged and never breaks the node.</summary>
    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        try
        {
            handler?.Invoke(this, args);
        }
        catch (Exception ex)
        {
            Log.Write(NodeLogLevel.Error, $"an event handler failed: {ex.Message}");
        }
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
                    (session as ClientSession)?.Tick();
                }

                ExpirePendingLinks();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A duplicate link whose dialer never gave its verdict is closed after the handshake timeout.</summary>
    private void ExpirePendingLinks()
    {
        PeerLink[] expired;
        lock (_gate)
        {
            long now = Environment.TickCount64;
            expired = [.. _pendingLinks.Where(l => now - l.CreatedAt > _options.HandshakeTimeout.TotalMilliseconds)];
        }

        foreach (var link in expired)
        {
            _ = link.CloseAsync(ProtocolError.DuplicateLink, $"node {Name} is already linked to node {link.RemoteName}");
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
            var where = NetworkAddress.Format(address.ToString(), port);
            throw ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? new P2PException(ProtocolError.AddressInUse, $"cannot listen on {where}: the address is already in use (another program or node listens on port {port})", ex)
                : new P2PException(ProtocolError.ConnectionLost, $"cannot listen on {where}: {ex.Message}", ex);
        }
    }

    /// <summary>Servers know private addresses (the seed): listening everywhere, advertise the first private IPv4 of an interface that is up.</summary>
    private static string AdvertisedHostFor(IPAddress listenAddress)
    {
        if (!listenAddress.Equals(IPAddress.Any) && !listenAddress.Equals(IPAddress.IPv6Any))
        {
            return listenAddress.ToString();
        }

        var candidates = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .ToList();
        var address = candidates.FirstOrDefault(IsPrivate) ?? candidates.FirstOrDefault() ?? IPAddress.Loopback;
        return address.ToString();
    }

    /// <summary>RFC 1918 ranges: 10/8, 172.16/12, 192.168/16.</summary>
    private static bool IsPrivate(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168);
    }
}
