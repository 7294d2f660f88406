using P2PTransfer.Common;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Search;

/// <summary>
/// Answers a request from this node's own index: to its search when this node entered it, else back along its stack.
/// Every response is signed by this node as its source, its own search's included (they reach the client the same way).
/// </summary>
internal sealed class LocalAnswerer(SourceSigner self, WorkTracker work, LocalIndexSearch findLocal, ResponseRouter responses, NodeLog log, SearchCounters counters)
{
    /// <summary>Answers; false when the request's pattern ran over its time budget on this node's names (the answer stopped there).</summary>
    public bool Answer(CascadeItem item)
    {
        // Answering is work a close waits for. An entry search that finds the node already closing is not cut
        // short (it holds a lease since it began): it only goes without this node's own files.
        if (!work.TryBegin(out var lease))
        {
            return true;
        }

        var cancellation = lease.Cancellation;
        counters.RequestProcessed();
        try
        {
            int limit = (int)Math.Min(item.MaxResults, SearchLimits.MaxHitsPerSource);
            ushort batch = 0;
            foreach (var files in FindLocal(item.Compiled, limit, cancellation))
            {
                var source = self.Sign(item.RequestId, batch, files);
                if (item.Entry is { } entry)
                {
                    entry.TryDeliver(new ResultBatch(source, 0, false, null, files));
                }
                else if (!responses.SendOwn(new QueryHit(item.RequestId, batch, (byte)item.Received!.Count, item.Received, source, files)))
                {
                    break;
                }

                batch++;
            }
        }
        catch (ArgumentException ex)
        {
            // A pattern over its time budget on this node's names: this node does not answer, the search goes on.
            // The user who entered the search here is told; a peer's request is only traced.
            var level = item.Entry is null ? NodeLogLevel.Verbose : NodeLogLevel.Warning;
            log.Write(level, $"search {item.RequestId.ToString()[..8]} got no answer from {self.Name}'s own files: {ex.Message}");
            return false;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        finally
        {
            lease.Dispose();
        }

        return true;
    }

    /// <summary>This node's matching files, in frames of about <see cref="SearchLimits.HitBytesPerFrame"/> bytes.</summary>
    private IEnumerable<IReadOnlyList<FoundFile>> FindLocal(CompiledQuery query, int limit, CancellationToken cancellationToken)
    {
        var files = new List<FoundFile>();
        int bytes = 0;
        foreach (var shared in findLocal(query, limit, cancellationToken))
        {
            var found = new FoundFile(shared.Name, shared.Size, shared.Hash!, shared.RelativePath);
            if (!found.FitsProtocol)
            {
                continue;
            }

            files.Add(found);
            bytes += found.WireLength;
            if (bytes >= SearchLimits.HitBytesPerFrame || files.Count == ushort.MaxValue)
            {
                yield return files;
                files = [];
                bytes = 0;
            }
        }

        if (files.Count > 0)
        {
            yield return files;
        }
    }
}
