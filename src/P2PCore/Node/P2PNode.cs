using P2PTransfer.Common;
using P2PTransfer.Control;
using P2PTransfer.Discovery;
using P2PTransfer.Index;
using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Search;
using P2PTransfer.Transfer;

namespace P2PTransfer.Node;

/// <summary>
/// A running node: the composition root of the engine. It builds and owns the index, the upload service, the
/// search routing, the listener (<see cref="NodeListener"/>), the link registry (<see cref="LinkRegistry"/>)
/// and the sessions' supervisor, and drives its start and graceful stop.
/// Many nodes may run in one process; nothing here is static.
/// </summary>
public sealed class P2PNode : IAsyncDisposable, IPeerHost
{
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    private readonly NodeOptions _options;
    private readonly NodeStateDirectory _state;
    private readonly CancellationTokenSource _stopping = new();
    private readonly LinkRegistry _links;
    private readonly NodeListener _server;
    private readonly SessionSupervisor _sessions;
    private readonly PeerDialer _peerDialer;
    private readonly BackgroundTasks _tasks;
    private readonly LocalDiscovery? _discovery;
    private readonly HostCache _hosts;
    private readonly LinkKeeper _keeper;
    private readonly AddressExchange _exchange;
    private readonly ControlServer? _control;
    private readonly object _gate = new();
    private Task? _stopTask;
    private NodeStatus _status = NodeStatus.Starting;

    private P2PNode(NodeOptions options, string name, NodeStateDirectory state, TcpConnectionListener listener, string advertisedHost, NodeLog log, ShareIndex index)
    {
        _options = options;
        Log = log;
        Index = index;
        _state = state;
        _tasks = new BackgroundTasks(Log);
        Name = name;
        Id = state.NodeId;
        Port = listener.LocalEndPoint.Port;
        ListenAddress = listener.LocalEndPoint.Address.ToString();
        Endpoint = NetworkAddress.Format(advertisedHost, Port);
        var identity = NodeIdentity.Create(Id, Name, Endpoint);
        StartedAt = DateTimeOffset.Now;
        var liveness = new ConnectionLiveness(options.KeepAliveInterval, options.DeadAfter);
        var credentials = new NodeCredentials(state.Key, options.NetworkKey, options.TrustedNodes);
        IConnectionDialer dialer = new TlsDialer(new TcpDialer(listener.LocalEndPoint.Address), credentials);
        _hosts = HostCache.Load(state.FullPath, Log);
        _exchange = new AddressExchange(Id, _hosts);
        foreach (var peer in options.Peers)
        {
            try
            {
                var (peerHost, peerPort) = NetworkAddress.Parse(peer, ProtocolLimits.DefaultPort);
                _hosts.AddConfigured(NetworkAddress.Format(peerHost, peerPort));
            }
            catch (FormatException ex)
            {
                Log.Write(NodeLogLevel.Warning, ex.Message);
            }
        }

        _links = new LinkRegistry(identity, options.HandshakeTimeout, Counters, Log,
            link =>
            {
                _hosts.Linked(link.RemoteEndpoint, link.RemoteId, dialed: link.Direction == PeerDirection.Outbound);
                Raise(PeerConnected, new PeerEventArgs(link.Snapshot()));
            },
            link =>
            {
                // A link ended on purpose, by either side, is not dialed again; one that broke is.
                if (link.CloseReason is ProtocolError.Disconnected or ProtocolError.SelfLink)
                {
                    _hosts.Forget(link.RemoteId);
                }

                _exchange.Forget(link.RemoteId);
                Raise(PeerDisconnected, new PeerEventArgs(link.Snapshot()));
            });
        Search = new SearchRouter(
            new SourceSigner(state.Key, Name, Endpoint),
            new NodeSearchLinks(_links),
            dialer,
            Work,
            Index.Search,
            Log,
            new SearchRouterOptions(options.SearchWorkers, options.SearchQueueCapacity, options.QueriesPerPeerPerSecond, options.DeadAfter + TimeSpan.FromSeconds(4),
                options.ClientSearchQueueCapacity, options.WorkPerPeerPerSecond, options.WorkPerAddressPerSecond, options.ForwardPatternWithin),
            () => Status != NodeStatus.Running,
            linkedAt: LinkedAt);
        Uploads = new UploadService(index, Work, options.MaxUploads, name);
        var serving = new ServingNode(Id, Name, Endpoint, Uploads, Search, _tasks, liveness);
        var peerRequests = new PeerRequests(Search, _exchange);
        _sessions = new SessionSupervisor(_links, liveness, Counters, Log, _tasks, link => Search.OnLinkEnded(PeerSearchLink.Of(link)), _stopping.Token);
        _server = new NodeListener(listener, identity, credentials, options.MaxConnections, options.HandshakeTimeout, _links, Counters, Log, _tasks,
            (connection, hello) => new ClientSession(serving, connection, hello),
            (connection, hello) => NewLink(connection, PeerDirection.Inbound, hello.NodeId, hello.Name, hello.Endpoint),
            _sessions.RunAsync,
            new ConnectionSources(new SourceLimitOptions(options.MaxClientsPerAddress, options.MaxPeersPerAddress, options.MaxPeersPerSubnet,
                options.ConnectsPerMinutePerAddress, options.FirstBan, options.LongestBan)),
            options.IdleClientTimeout);
        _peerDialer = new PeerDialer(dialer, identity, options.HandshakeTimeout, _links, _sessions,
            (connection, welcome) => NewLink(connection, PeerDirection.Outbound, welcome.NodeId, welcome.Name, welcome.Endpoint));
        _discovery = StartDiscovery(options.Discovery, listener.LocalEndPoint.Address);
        _keeper = new LinkKeeper(_hosts, () => Status == NodeStatus.Running, () => _links.LiveLinks().Count, id => _links.Find(id) is not null,
            (address, expectedId, token) => _peerDialer.ConnectAsync(address, token, expectedId), options.TargetPeers, options.LinkCheckInterval, SendPeerExchanges, Log);

        Managed = new SessionNode(this);
        if (options.Control)
        {
            _control = new ControlServer(Name, options.ControlDirectory ?? ControlDirectory.Default, new NodeControlService(this).HandleAsync, Log);
        }

        PeerLink NewLink(FrameConnection connection, PeerDirection direction, Guid remoteId, string remoteName, string remoteEndpoint) =>
            new(connection, direction, remoteId, remoteName, remoteEndpoint, _links.NextSequence(), Log, peerRequests, link => new P2PPeer(link, this));
    }

    /// <summary>Raised on an engine thread when a peer link is in use.</summary>
    public event EventHandler<PeerEventArgs>? PeerConnected;

    /// <summary>Raised on an engine thread when a peer link has gone.</summary>
    public event EventHandler<PeerEventArgs>? PeerDisconnected;

    /// <summary>Raised on an engine thread when the node starts closing and when it has stopped.</summary>
    public event EventHandler<NodeStatusEventArgs>? StatusChanged;

    /// <summary>The id of the node's key (kept in the state directory): the same on every start, proven on every connection.</summary>
    public Guid Id { get; }

    /// <summary>The id as people read and compare it (<see cref="Identity.NodeIdText"/>): what -TrustedNode takes.</summary>
    public string IdText => Identity.NodeIdText.Format(Id);

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
    public int PeerCount => _links.LiveLinks().Count;

    /// <summary>Open connections: peer links and clients.</summary>
    public int ConnectionCount => _links.SessionCount;

    /// <summary>The open connections: peer links and clients.</summary>
    internal IEnumerable<Session> Sessions => _links.Sessions;

    /// <summary>Inbound connections open right now, including those still in their handshake.</summary>
    public int InboundConnections => _server.InboundConnections;

    public NodeCounters Counters { get; } = new();

    /// <summary>This node's part in network search: cascade workers, caches, routing of responses.</summary>
    internal SearchRouter Search { get; }

    /// <summary>What the search routing has done: requests received, processed, cascaded, dropped; responses routed and delivered.</summary>
    public SearchCounters SearchCounters => Search.Counters;

    /// <summary>Network searches entered at this node (its own and its clients') that have not ended yet.</summary>
    public int ActiveSearches => Search.ActiveSearches;

    /// <summary>This node's server side of transfers: upload slots, and files served by hash from the index.</summary>
    internal UploadService Uploads { get; }

    /// <summary>What this node has uploaded: pieces and bytes served, uploads started, requests refused.</summary>
    public UploadCounters TransferCounters => Uploads.Counters;

    /// <summary>How many downloaders this node serves at once (-MaxUploads); one more is refused NodeBusy.</summary>
    public int MaxUploads => Uploads.MaxUploads;

    public NodeLog Log { get; }

    /// <summary>This node as the cmdlets manage it, in this process or (the same calls) through its control channel.</summary>
    public SessionNode Managed { get; }

    /// <summary>Where the node's control channel is (its socket's path, or its pipe's name on Windows); null when it has none.</summary>
    public string? ControlAddress => _control?.Address;

    /// <summary>Work under way (requests being answered, uploads) that closing waits for.</summary>
    internal WorkTracker Work { get; } = new();

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

        var listenAddress = LocalAddresses.ParseListenAddress(options.ListenAddress);
        // Nothing may be written into a shared folder, not even the state folder's lock and id.
        var (name, state) = NodeStateDirectory.Resolve(options, path => SharePaths.CheckShareable(options.Index.Shares ?? [], path));
        TcpConnectionListener? listener = null;
        ShareIndex? index = null;
        try
        {
            var log = new NodeLog();
            index = ShareIndex.Open(state.FullPath, options.Index, log);
            listener = TcpConnectionListener.Bind(listenAddress, options.Port);
            var host = options.AdvertisedHost ?? LocalAddresses.AdvertisedHostFor(listenAddress);
            var node = new P2PNode(options, name, state, listener, host, log, index);
            node.Begin();
            node.SaveSettings();
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
    public Task<P2PPeer> ConnectPeerAsync(string address, CancellationToken cancellationToken = default) => ConnectPeerAsync(address, null, cancellationToken);

    /// <summary>
    /// Links to the node <paramref name="expectedId"/> at <paramref name="address"/>: a server that proves another id
    /// in TLS is refused (WrongNode) before anything is sent to it.
    /// </summary>
    public Task<P2PPeer> ConnectPeerAsync(string address, Guid expectedId, CancellationToken cancellationToken = default) => ConnectPeerAsync(address, (Guid?)expectedId, cancellationToken);

    private async Task<P2PPeer> ConnectPeerAsync(string address, Guid? expectedId, CancellationToken cancellationToken)
    {
        EnsureRunning();

        // A host the node keeps linked (a -Peer) is not dialed again by the node while this dial runs.
        var (host, port) = NetworkAddress.Parse(address, ProtocolLimits.DefaultPort);
        var endpoint = NetworkAddress.Format(host, port);
        bool dialing = _hosts.BeginDial(endpoint), failed = true;
        try
        {
            var peer = await _peerDialer.ConnectAsync(address, cancellationToken, expectedId).ConfigureAwait(false);
            _hosts.Reached(endpoint, peer.NodeId);
            failed = false;
            return peer;
        }
        finally
        {
            if (dialing)
            {
                _hosts.EndDial(endpoint, failed);
            }
        }
    }

    /// <summary>Nodes this node knows how to reach (its host cache).</summary>
    internal int KnownHostCount => _hosts.Count;

    /// <summary>One round of the link keeper now, as it runs every <see cref="NodeOptions.LinkCheckInterval"/>.</summary>
    internal Task CheckLinksAsync(CancellationToken cancellationToken = default) => _keeper.TickAsync(cancellationToken);

    /// <summary>The live peer links, as views.</summary>
    public IReadOnlyList<P2PPeer> GetPeers() => [.. _links.LiveLinks().Select(l => l.Snapshot())];

    /// <summary>Closes the link to a node, waiting until the other node has let go of it; false if there was none.</summary>
    public async Task<bool> DisconnectPeerAsync(Guid nodeId)
    {
        if (_links.Find(nodeId) is not { } link || link.IsClosing)
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
                _links.RefuseNew();
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
            new ResultBatch(Search.LocalSource, 0, false, null, [new FoundFile(file.Name, file.Size, file.Hash!, file.RelativePath)]).Results());

    public override string ToString() => $"{Name} ({Endpoint})";

    private async Task StopCoreAsync(TimeSpan drainTimeout)
    {
        await Task.Yield();
        try
        {
            Raise(StatusChanged, new NodeStatusEventArgs(NodeStatus.Closing));
            Log.Write(NodeLogLevel.Information, $"closing; draining {Work.Active} piece(s) of work for up to {drainTimeout.TotalSeconds:0.#} s");
            _sessions.AnnounceClosing();

            if (!await Work.DrainAsync(drainTimeout).ConfigureAwait(false))
            {
                Log.Write(NodeLogLevel.Warning, $"drain timeout: cancelled {Work.Active} piece(s) of work still running");
            }

            await _sessions.CloseAllAsync($"node {Name} ({Endpoint}) is shutting down", searchesDoneWithin: _options.DeadAfter * 2).ConfigureAwait(false);
        }
        finally
        {
            // Whatever happened above, the port is released and the state directory unlocked before Stop returns.
            _stopping.Cancel();
            _server.Stop();
            if (!await _tasks.WaitAllAsync(CloseWait).ConfigureAwait(false))
            {
                Log.Write(NodeLogLevel.Warning, $"{_tasks.Count} task(s) did not end within {CloseWait.TotalSeconds} s of stopping");
            }

            _discovery?.Dispose();
            await Index.DisposeAsync().ConfigureAwait(false);
            _state.Dispose();
            lock (_gate)
            {
                _status = NodeStatus.Stopped;
            }

            // Last: a Stop request that came through the channel is answered once the node has stopped.
            if (_control is { } control)
            {
                await control.StopAsync(CloseWait).ConfigureAwait(false);
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
            _links.Open();
        }

        _tasks.Run("accept loop", () => _server.AcceptLoopAsync(_stopping.Token));
        _tasks.Run("keep-alive", _sessions.KeepAliveLoopAsync);
        Search.Start(_tasks, _stopping.Token);
        if (_discovery is { } discovery)
        {
            _tasks.Run("discovery", () => discovery.RunAsync(_stopping.Token));
        }

        _tasks.Run("link keeper", () => _keeper.RunAsync(_stopping.Token));
        _control?.Start();

        Log.Write(NodeLogLevel.Information, $"listening on {NetworkAddress.Format(ListenAddress, Port)}, advertised as {Endpoint}");
    }

    /// <summary>
    /// Keeps the settings the node runs with in its state directory (node.json), for the service host's next start.
    /// The shares are in the index now, so node.json asks for none: what the index holds is shared next time.
    /// </summary>
    /// <summary>Nodes this node has linked to at <paramref name="address"/> (its host cache): their ids were proved by TLS then.</summary>
    private IEnumerable<Guid> LinkedAt(System.Net.IPAddress address) =>
        _hosts.Snapshot()
            .Where(h => h.LastLinked is not null && h.NodeId != Guid.Empty && DirectDelivery.IsAddressLiteral(h.Endpoint, out var at) && at.Equals(address))
            .Select(h => h.NodeId);

    private void SaveSettings()
    {
        var settings = NodeSettings.From(_options, Name);
        settings.Shares = null;
        try
        {
            settings.Save(_state.FullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.Write(NodeLogLevel.Warning, $"the node settings could not be written to '{_state.FullPath}': {ex.Message}");
        }
    }

    /// <summary>Announcements are heard from the moment the node runs; none on loopback, where there is no local network.</summary>
    private LocalDiscovery? StartDiscovery(DiscoveryOptions options, System.Net.IPAddress listenAddress)
    {
        var interfaces = options.Enabled ? LocalDiscovery.InterfacesFor(listenAddress) : [];
        if (interfaces.Count == 0)
        {
            return null;
        }

        try
        {
            return new LocalDiscovery(new Announcement(Id, (ushort)Port, LocalDiscovery.TagOf(_options.NetworkKey)), interfaces, options,
                id => _links.Find(id) is not null, LinkDiscoveredAsync, Log);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            Log.Write(NodeLogLevel.Warning, $"LAN discovery is off: UDP port {options.Port} could not be used ({ex.Message})");
            return null;
        }
    }

    /// <summary>Links to an announced node at the address its announcement came from, expecting the announced id (TLS proves it before anything is sent).</summary>
    private Task LinkDiscoveredAsync(System.Net.IPEndPoint endpoint, Guid announcedId, CancellationToken cancellationToken) =>
        _peerDialer.ConnectAsync(NetworkAddress.Format(endpoint.Address.ToString(), endpoint.Port), cancellationToken, announcedId);

    /// <summary>Tells each peer the nodes this node was linked to, when that is due; a link whose queue is nearly full is skipped this round.</summary>
    private void SendPeerExchanges()
    {
        foreach (var link in _links.LiveLinks())
        {
            if (link.Connection.QueuedFrames < ProtocolLimits.SendQueueCapacity - 64 && _exchange.Due(link.RemoteId) is { } message)
            {
                link.Connection.TrySend(message);
            }
        }
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

    private void EnsureRunning()
    {
        var status = Status;
        if (status != NodeStatus.Running)
        {
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {Name} is {status.ToString().ToLowerInvariant()}");
        }
    }
}
