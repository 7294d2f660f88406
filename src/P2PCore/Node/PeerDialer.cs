using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Node;

/// <summary>Opens the node's lasting links to other nodes' servers, through the transport's dialer.</summary>
/// <param name="newLink">Makes the link to the node that answered with a Welcome, numbered in the order links are made.</param>
internal sealed class PeerDialer(
    IConnectionDialer dialer,
    NodeIdentity identity,
    TimeSpan handshakeTimeout,
    LinkRegistry registry,
    SessionSupervisor sessions,
    Func<FrameConnection, Welcome, PeerLink> newLink)
{
    /// <summary>
    /// Dials, handshakes and registers the link. When the two nodes dial each other at the same moment, both keep
    /// the same one of the two connections (<see cref="DuplicateLinkRule"/>) and this returns that link.
    /// </summary>
    /// <param name="expectedId">The node expected at <paramref name="address"/>, when known: another one is refused (WrongNode) before anything is sent.</param>
    public async Task<P2PPeer> ConnectAsync(string address, CancellationToken cancellationToken, Guid? expectedId = null)
    {
        long dialStarted = registry.LastSequence;
        var hello = Hello.Create(ConnectionRole.Peer, identity.Id, identity.Endpoint, identity.Name);
        var (connection, welcome) = await Handshake.DialAsync(dialer, address, ProtocolLimits.DefaultPort, hello, handshakeTimeout, cancellationToken, expectedId: expectedId).ConfigureAwait(false);
        if (welcome.NodeId == identity.Id)
        {
            await connection.CloseAsync(Bye.Create(ProtocolError.SelfLink, "self link")).ConfigureAwait(false);
            throw new P2PException(ProtocolError.SelfLink, $"cannot link node {identity.Name} to itself ({address} is this node)");
        }

        var link = newLink(connection, welcome);
        var (registered, kept, refusal) = registry.RegisterOutbound(link, dialStarted);
        if (registered)
        {
            sessions.Start(link);
            return refusal is null ? link.Snapshot() : throw refusal;
        }

        var reason = refusal ?? new P2PException(ProtocolError.DuplicateLink, $"node {identity.Name} keeps the link dialed by {welcome.Name}, the lower node id");
        await connection.CloseAsync(Bye.Create(reason.Code, reason.Message)).ConfigureAwait(false);
        return kept?.Snapshot() ?? throw reason;
    }
}
