namespace P2PTransfer.Peers;

/// <summary>A node this node may link to: from -Peer (configured), from a link it had, or learned from a peer.</summary>
/// <param name="Endpoint">Where it is dialed: an endpoint as the protocol writes them ('host:port').</param>
/// <param name="NodeId">Its id once known (empty for a -Peer never reached yet).</param>
/// <param name="Configured">Given with -Peer: always kept linked, whatever the target number of links.</param>
/// <param name="LastLinked">When a link to it was last made (UTC), or null.</param>
/// <param name="LastTried">When it was last dialed (UTC), or null.</param>
/// <param name="Failures">Dials that failed since the last link: each doubles the wait before the next one.</param>
internal sealed record KnownHost(string Endpoint, Guid NodeId, bool Configured, DateTimeOffset? LastLinked, DateTimeOffset? LastTried, int Failures);
