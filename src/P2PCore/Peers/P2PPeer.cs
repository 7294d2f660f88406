namespace P2PTransfer.Peers;

/// <summary>A peer link as Get-P2PPeer shows it: a snapshot taken when it was asked for.</summary>
public sealed class P2PPeer
{
    internal P2PPeer(PeerLink link, IPeerHost localNode)
    {
        NodeId = link.RemoteId;
        Name = link.RemoteName;
        Endpoint = link.RemoteEndpoint;
        RemoteAddress = link.Connection.RemoteEndPoint;
        Direction = link.Direction;
        State = link.State;
        Since = link.Since;
        RoundTripMs = link.RoundTrip?.TotalMilliseconds;
        BytesSent = link.Connection.Counters.BytesSent;
        BytesReceived = link.Connection.Counters.BytesReceived;
        FramesSent = link.Connection.Counters.FramesSent;
        FramesReceived = link.Connection.Counters.FramesReceived;
        LocalNode = localNode;
        CloseReason = link.CloseReason;
        CloseMessage = link.CloseMessage;
    }

    /// <summary>A link as another process reported it (a node reached through its control channel).</summary>
    internal P2PPeer(Guid nodeId, string name, string endpoint, string remoteAddress, PeerDirection direction, PeerState state, DateTimeOffset since,
        double? roundTripMs, long bytesSent, long bytesReceived, long framesSent, long framesReceived, IPeerHost localNode)
    {
        NodeId = nodeId;
        Name = name;
        Endpoint = endpoint;
        RemoteAddress = remoteAddress;
        Direction = direction;
        State = state;
        Since = since;
        RoundTripMs = roundTripMs;
        BytesSent = bytesSent;
        BytesReceived = bytesReceived;
        FramesSent = framesSent;
        FramesReceived = framesReceived;
        LocalNode = localNode;
    }

    /// <summary>The remote node's id.</summary>
    public Guid NodeId { get; }

    public string Name { get; }

    /// <summary>The endpoint the remote node advertises ('host:port').</summary>
    public string Endpoint { get; }

    /// <summary>The socket address the link actually runs over.</summary>
    public string RemoteAddress { get; }

    public PeerDirection Direction { get; }

    public PeerState State { get; }

    public DateTimeOffset Since { get; }

    /// <summary>Last keep-alive round trip in milliseconds; empty before the first.</summary>
    public double? RoundTripMs { get; }

    public long BytesSent { get; }

    public long BytesReceived { get; }

    public long FramesSent { get; }

    public long FramesReceived { get; }

    /// <summary>Why the link ended (Shutdown: the other node stopped and said Bye); None while it runs.</summary>
    public Protocol.ProtocolError CloseReason { get; }

    /// <summary>The text that came with <see cref="CloseReason"/>; empty while the link runs.</summary>
    public string? CloseMessage { get; }

    /// <summary>The node that holds the link: a node of this session, or one reached through its control channel.</summary>
    public IPeerHost LocalNode { get; }

    public override string ToString() => $"{Name} ({Endpoint})";
}
