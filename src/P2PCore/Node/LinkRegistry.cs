using System.Collections.Concurrent;
using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Node;

/// <summary>
/// The node's open sessions and its peer table: at most one link per remote node in use, duplicates judged by
/// <see cref="DuplicateLinkRule"/>, a link a peer dialed waiting for the dialer's verdict while another is live.
/// Refuses new sessions once the node is closing.
/// </summary>
/// <param name="linked">Called when a link comes into use.</param>
/// <param name="retired">Called when a link leaves the peer table (closed, or replaced).</param>
internal sealed class LinkRegistry(NodeIdentity identity, TimeSpan handshakeTimeout, NodeCounters counters, NodeLog log, Action<PeerLink> linked, Action<PeerLink> retired)
{
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<Session, byte> _sessions = new();
    private readonly PeerTable _peers = new();
    private readonly List<PeerLink> _pendingLinks = [];
    private long _linkSequence;
    private bool _open;

    /// <summary>The open connections: peer links and clients.</summary>
    public IEnumerable<Session> Sessions => _sessions.Keys;

    public int SessionCount => _sessions.Count;

    /// <summary>Live links (not counting ones that are closing).</summary>
    public IReadOnlyList<PeerLink> LiveLinks() => [.. _peers.Snapshot().Where(l => !l.IsClosing)];

    public PeerLink? Find(Guid nodeId) => _peers.TryGet(nodeId, out var link) ? link : null;

    /// <summary>The last link number handed out: a dial notes it as it begins.</summary>
    public long LastSequence => Interlocked.Read(ref _linkSequence);

    /// <summary>Numbers links in the order the node made them.</summary>
    public long NextSequence() => Interlocked.Increment(ref _linkSequence);

    /// <summary>The node runs: sessions may be added.</summary>
    public void Open()
    {
        lock (_gate)
        {
            _open = true;
        }
    }

    /// <summary>The node is closing: from now on, every new session is refused.</summary>
    public void RefuseNew()
    {
        lock (_gate)
        {
            _open = false;
        }
    }

    /// <summary>Adds a session unless the node is closing; its Welcome is queued under the same lock, so a Closing announcement cannot overtake it.</summary>
    public bool TryRegister(Session session, Welcome? welcome)
    {
        lock (_gate)
        {
            if (!_open)
            {
                counters.Refused(closing: true);
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
    /// The dialer's verdict on a new link, which the other side follows (<see cref="DuplicateLinkRule"/>). The dial
    /// is refused as a duplicate when the nodes were already linked before it began (the link that stays may still
    /// be the new one, by the rule). Returns whether the new link is in use, else the link that stays.
    /// </summary>
    public (bool Registered, PeerLink? Kept, P2PException? Refusal) RegisterOutbound(PeerLink link, long dialStarted)
    {
        PeerLink? replaced = null;
        PeerLink? retired;
        P2PException? duplicate = null;
        lock (_gate)
        {
            if (_peers.TryGet(link.RemoteId, out var existing) && !existing.IsClosing)
            {
                var verdict = DuplicateLinkRule.JudgeDial(identity.Id, existing.RemoteId, existing.Direction, existing.Sequence, dialStarted);
                if (verdict.AlreadyLinked)
                {
                    duplicate = new P2PException(ProtocolError.DuplicateLink, $"node {identity.Name} is already linked to node {link.RemoteName} ({existing.RemoteEndpoint})");
                }

                if (!verdict.KeepNew)
                {
                    return (false, duplicate is null ? existing : null, duplicate);
                }

                replaced = existing;
            }

            if (!TryRegister(link, welcome: null))
            {
                return (false, null, new NodeUnavailableException(ProtocolError.NodeClosing, $"node {identity.Name} ({identity.Endpoint}) is shutting down"));
            }

            retired = _peers.Set(link);
        }

        // Events run outside the lock: a subscriber may call back into the node from any thread.
        Retire(retired);
        if (replaced is not null)
        {
            // Its read loop awaits this close, so a failure is observed there.
            _ = replaced.CloseAsync(ProtocolError.DuplicateLink, $"replaced by the link dialed by {identity.Name}, the lower node id");
        }

        Linked(link);
        return duplicate is null ? (true, null, null) : (true, link, duplicate);
    }

    /// <summary>
    /// Adds a link a peer dialed. While another live link to the same node exists, the new one waits, out of the
    /// peer table, for the dialer's verdict: a goodbye (it keeps the old link), or the old link closing (it keeps
    /// this one, which then takes the old one's place). False when the node is closing.
    /// </summary>
    public bool RegisterInbound(PeerLink link, Welcome? welcome)
    {
        PeerLink? retired;
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

            retired = _peers.Set(link);
        }

        Retire(retired);
        Linked(link);
        return true;
    }

    /// <summary>Forgets a session that is ending.</summary>
    public void Remove(Session session) => _sessions.TryRemove(session, out _);

    /// <summary>Forgets a link that is ending; a link to the same node waiting for a verdict takes its place.</summary>
    public void Unlink(PeerLink link)
    {
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

    /// <summary>Closes the waiting links whose dialer never gave its verdict (<see cref="DuplicateLinkRule.PendingExpired"/>).</summary>
    public void ExpirePendingLinks(long now)
    {
        PeerLink[] expired;
        lock (_gate)
        {
            expired = [.. _pendingLinks.Where(l => DuplicateLinkRule.PendingExpired(now, l.CreatedAt, handshakeTimeout))];
        }

        foreach (var link in expired)
        {
            _ = link.CloseAsync(ProtocolError.DuplicateLink, $"node {identity.Name} is already linked to node {link.RemoteName}");
        }
    }

    /// <summary>A pending link takes the place of the link to the same node that just ended.</summary>
    private void PromotePending(Guid remoteId)
    {
        PeerLink? promoted;
        PeerLink? retired;
        lock (_gate)
        {
            promoted = _pendingLinks.FirstOrDefault(l => l.RemoteId == remoteId && !l.IsClosing);
            if (promoted is null || (_peers.TryGet(remoteId, out var current) && !current.IsClosing))
            {
                return;
            }

            _pendingLinks.Remove(promoted);
            retired = _peers.Set(promoted);
        }

        Retire(retired);
        Linked(promoted);
    }

    /// <summary>Accounts for a link that left the peer table (closed, or replaced by a newer link to the same node).</summary>
    private void Retire(PeerLink? link)
    {
        if (link is null)
        {
            return;
        }

        counters.PeerLinkClosed();
        log.Write(NodeLogLevel.Information, $"link to {link.RemoteName} ({link.RemoteEndpoint}) closed: {link.CloseMessage ?? "replaced"}");
        retired(link);
    }

    private void Linked(PeerLink link)
    {
        counters.PeerLinkOpened();
        log.Write(NodeLogLevel.Information, $"linked to {link.RemoteName} ({link.RemoteEndpoint}), {link.Direction}");
        linked(link);
    }
}
