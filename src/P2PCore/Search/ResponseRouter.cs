using P2PTransfer.Common;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>
/// Responses on their way back: each server checks one (<see cref="ResponseValidator"/>), drops one it had
/// already, and passes it on along the request's backtrace stack, popping itself; the entry server hands it to its
/// search. When the way back is broken, the response goes straight to the entry server (<see cref="DirectDelivery"/>).
/// The entry server takes only responses whose source signature verifies; a server on the way checks none, and tells
/// copies that claim the same source and batch apart by their signatures, so a forged copy suppresses nothing.
/// </summary>
internal sealed class ResponseRouter(
    Guid self,
    ISearchLinks links,
    LinkSearchStates linkStates,
    RequestCache requests,
    ResponseCache responses,
    Func<Guid, NetworkSearch?> searchOf,
    DirectDelivery direct,
    SignatureVerifier verifier,
    NodeLog log,
    SearchCounters counters)
{
    /// <summary>A QueryHit from a linked server.</summary>
    public void OnQueryHit(ISearchLink from, QueryHit hit)
    {
        counters.ResponseReceived();
        if (!ResponseValidator.IsValidOverLink(hit, self, from.RemoteId))
        {
            counters.ResponseRefused();
            return;
        }

        if (requests.EntryOf(hit.RequestId) is not { } entry)
        {
            counters.UnknownResponse();
            return;
        }

        // The entry server is the one the request named when it came here: a response cannot redirect it.
        if (!ResponseValidator.NamesEntry(hit, entry))
        {
            counters.ResponseRefused();
            return;
        }

        if (hit.Remaining == 1)
        {
            Deliver(hit, direct: false);
            return;
        }

        if (!responses.TryAdd(hit.RequestId, hit.Source.NodeId, hit.Batch, CopyOf(hit)))
        {
            counters.DuplicateResponse();
            return;
        }

        Send(hit with { Remaining = (byte)(hit.Remaining - 1) }, from.RemoteId);
    }

    /// <summary>A QueryHit delivered directly over a client connection by <paramref name="dialer"/>.</summary>
    public void OnDirectHit(Guid dialer, QueryHit hit)
    {
        counters.ResponseReceived();
        if (!ResponseValidator.IsValidDirect(hit, self, dialer))
        {
            counters.ResponseRefused();
            return;
        }

        Deliver(hit, direct: true);
    }

    /// <summary>
    /// Sends this node's own answer to a peer's request back along its stack; it is remembered as routed. False
    /// (counted, nothing sent) when the link to the receiver holds more than <see cref="SearchLimits.MaxQueuedBytesPerLink"/>
    /// bytes waiting to be sent: the answer stops there, rather than pile up for a remote that does not read.
    /// </summary>
    public bool SendOwn(QueryHit hit)
    {
        if (links.Find(hit.Receiver.NodeId) is { IsClosing: false } link && link.QueuedBytes > SearchLimits.MaxQueuedBytesPerLink)
        {
            counters.BackloggedLinkDrop();
            return false;
        }

        responses.TryAdd(hit.RequestId, self, hit.Batch, CopyOf(hit));
        Send(hit, Guid.Empty);
        return true;
    }

    /// <summary>A link has gone: what it was handed lately may have died with it, so it goes straight to the entry servers.</summary>
    public void OnLinkEnded(ISearchLink link)
    {
        var recent = linkStates.Of(link).RecentResponses.TakeAll();
        foreach (var hit in recent)
        {
            direct.TryQueue(hit);
        }

        if (recent.Count > 0)
        {
            log.Write(NodeLogLevel.Verbose, $"link to {link.RemoteName} broke with {recent.Count} recent response(s): delivering them directly");
        }
    }

    /// <summary>Hands a response to the server it is addressed to, or straight to the entry server when that link is gone.</summary>
    private void Send(QueryHit hit, Guid arrivedFrom)
    {
        var receiver = hit.Receiver;
        if (ResponseValidator.GoesBack(hit, arrivedFrom))
        {
            counters.ResponseRefused();
            return;
        }

        if (links.Find(receiver.NodeId) is { IsClosing: false } link)
        {
            if (link.TrySend(hit, SearchLimits.SendQueueHeadroom))
            {
                counters.ResponseRouted();
                if (linkStates.Of(link).RecentResponses.TryAdd(hit))
                {
                    return;
                }

                // The link ended just now and its recent responses were already taken: this one goes directly too.
            }
            else
            {
                counters.SendQueueWasFull();
            }
        }

        log.Write(NodeLogLevel.Verbose, $"no link to {receiver.Endpoint} for a response to request {hit.RequestId.ToString()[..8]}: delivering it directly to {hit.Backtrace.Entry.Endpoint}");
        direct.TryQueue(hit);
    }

    /// <summary>
    /// At the entry server: a response to a search running here, whose source's signature holds, taken once per
    /// (source, batch) however many ways it came (duplicates are judged on verified responses only).
    /// </summary>
    private void Deliver(QueryHit hit, bool direct)
    {
        if (searchOf(hit.RequestId) is not { } search)
        {
            // The search has ended (or never ran here): its late responses have nowhere to go.
            counters.UnknownResponse();
            return;
        }

        var source = hit.Source;
        if (!verifier.Verify(source.NodeId, source.Proof, SignedData.Response(hit.RequestId, hit.Batch, source.NodeId, source.Name, source.Endpoint, hit.Files)))
        {
            counters.ResponseUnverified();
            log.Write(NodeLogLevel.Verbose, $"dropped a response to request {hit.RequestId.ToString()[..8]} claiming source {source.Name} ({source.Endpoint}): its signature does not verify");
            return;
        }

        if (!responses.TryAdd(hit.RequestId, source.NodeId, hit.Batch))
        {
            counters.DuplicateResponse();
            return;
        }

        if (!search.TryDeliver(new ResultBatch(source, hit.Hops, direct, hit.Backtrace, hit.Files)))
        {
            counters.UnknownResponse();
        }
    }

    /// <summary>What tells apart unverified copies of one (source, batch): the start of their signatures.</summary>
    private static Guid CopyOf(QueryHit hit) => new(hit.Source.Proof.Signature.AsSpan(0, 16));
}
