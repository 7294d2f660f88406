using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>Sends a request on: to every linked server but its sender, those already on its stack, and those closing.</summary>
internal sealed class QueryForwarder(RouteHop self, ISearchLinks links, SearchCounters counters)
{
    /// <summary>Cascades the request with its TTL less one; returns the number of servers it went to.</summary>
    public int Cascade(CascadeItem item)
    {
        if (item.Ttl <= 0)
        {
            return 0;
        }

        var backtrace = item.Received?.Push(self) ?? BacktraceStack.Start(self);
        var forward = new Query(item.RequestId, (byte)(item.Ttl - 1), item.MaxResults, backtrace, item.EntryProof, item.Query);
        var sentTo = new List<string>();
        foreach (var link in links.Linked())
        {
            if (link.RemoteId == item.From || item.Received?.Contains(link.RemoteId) == true || link.IsClosing || link.RemoteIsClosing)
            {
                continue;
            }

            if (link.TrySend(forward, SearchLimits.SendQueueHeadroom))
            {
                counters.RequestCascaded();
                sentTo.Add(link.RemoteName);
            }
            else
            {
                // A peer that does not read its queries loses them, not its link: flow control, as Gnutella learned.
                counters.SendQueueWasFull();
            }
        }

        item.Entry?.Trace(sentTo.Count == 0
            ? "no linked server to cascade to"
            : $"cascaded with TTL {item.Ttl - 1} to {sentTo.Count} server(s): {string.Join(", ", sentTo)}");
        return sentTo.Count;
    }
}
