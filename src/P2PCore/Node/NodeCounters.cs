namespace P2PTransfer.Node;

/// <summary>What a node has seen since it started; shown by Get-P2PNode.</summary>
public sealed class NodeCounters
{
    private long _connectionsAccepted;
    private long _handshakesFailed;
    private long _protocolErrors;
    private long _refusedClosing;
    private long _refusedBusy;
    private long _peerLinksOpened;
    private long _peerLinksClosed;
    private long _keepAliveTimeouts;
    private long _refusedSource;
    private long _refusedBanned;
    private long _idleClientsClosed;

    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);
    public long HandshakesFailed => Interlocked.Read(ref _handshakesFailed);
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);
    public long RefusedClosing => Interlocked.Read(ref _refusedClosing);
    public long RefusedBusy => Interlocked.Read(ref _refusedBusy);
    public long PeerLinksOpened => Interlocked.Read(ref _peerLinksOpened);
    public long PeerLinksClosed => Interlocked.Read(ref _peerLinksClosed);
    public long KeepAliveTimeouts => Interlocked.Read(ref _keepAliveTimeouts);

    /// <summary>Connections refused because their address (or subnet) held its share, or had just connected too often (Error 210).</summary>
    public long RefusedByAddress => Interlocked.Read(ref _refusedSource);

    /// <summary>Connections from a banned address, closed at accept without a word.</summary>
    public long RefusedBanned => Interlocked.Read(ref _refusedBanned);

    /// <summary>Idle clients closed to make room when the node neared its connection limit.</summary>
    public long IdleClientsClosed => Interlocked.Read(ref _idleClientsClosed);

    internal void ConnectionAccepted() => Interlocked.Increment(ref _connectionsAccepted);
    internal void HandshakeFailed() => Interlocked.Increment(ref _handshakesFailed);
    internal void ProtocolError() => Interlocked.Increment(ref _protocolErrors);
    internal void Refused(bool closing) => Interlocked.Increment(ref closing ? ref _refusedClosing : ref _refusedBusy);
    internal void PeerLinkOpened() => Interlocked.Increment(ref _peerLinksOpened);
    internal void PeerLinkClosed() => Interlocked.Increment(ref _peerLinksClosed);
    internal void KeepAliveTimeout() => Interlocked.Increment(ref _keepAliveTimeouts);
    internal void RefusedSource(bool banned) => Interlocked.Increment(ref banned ? ref _refusedBanned : ref _refusedSource);
    internal void IdleClientClosed() => Interlocked.Increment(ref _idleClientsClosed);
}
