namespace P2PTransfer.Protocol;

/// <summary>Who is dialing, stated in Hello.</summary>
internal enum ConnectionRole : byte
{
    /// <summary>A client making requests (search, download, ping); no lasting link.</summary>
    Client = 1,
    /// <summary>A server opening a lasting peer link; either side may then send requests.</summary>
    Peer = 2,
}
