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

    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);
    public long HandshakesFailed => Interlocked.Read(ref _handshakesFailed);
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);
    public long RefusedClosing => Interlocked.Read(ref _refusedClosing);
    public long RefusedBusy => Interlocked.Read(ref _refusedBusy);
    public long PeerLinksOpened => Interlocked.Read(ref _peerLinksOpened);
    public long PeerLinksClosed => Interlocked.Read(ref _peerLinksClosed);
    public long KeepAliveTimeouts => Interlocked.Read(ref _keepAliveTimeouts);

    internal void ConnectionAccepted() => Interlocked.Increment(ref _connectionsAccepted);
    internal void HandshakeFailed() => Interlocked.Increment(ref _handshakesFailed);
    internal void ProtocolError() => Interlocked.Increment(ref _protocolErrors);
    internal void Refused(bool closing) => Interlocked.Increment(ref closing ? ref _refusedClosing : ref _refusedBusy);
    internal void PeerLinkOpened() => Interlocked.Increment(ref _peerLinksOpened);
    internal void PeerLinkClosed() => Interlocked.Increment(ref _peerLinksClosed);
    internal void KeepAliveTimeout() => Interlocked.Increment(ref _keepAliveTimeouts);
}
