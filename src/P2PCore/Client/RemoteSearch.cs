using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

namespace P2PTransfer.Client;

/// <summary>One search a pure client has open on its connection: the SearchResults frames until SearchDone.</summary>
internal sealed class RemoteSearch
{
    /// <summary>What arrived and waits for the caller, bounded as the server bounds what waits for a client.</summary>
    public ResultBuffer Results { get; } = new();

    public SearchDone? Done { get; private set; }

    /// <summary>Results dropped because the reader lagged too far behind (the server sends without waiting for it).</summary>
    public int Dropped { get; private set; }

    /// <summary>Called by the read loop only.</summary>
    public void Add(SearchResults results)
    {
        if (results.Files.Count == 0)
        {
            return;
        }

        var batch = new ResultBatch(results.Source, results.Hops, results.Direct, results.Route, results.Files);
        if (Results.TryReserve(batch))
        {
            Results.Publish(batch);
        }
        else
        {
            Dropped += results.Files.Count;
        }
    }

    /// <summary>The server ended the search; a refusal becomes the reader's error.</summary>
    public void Finish(SearchDone done)
    {
        Done = done;
        Exception? error = done.Status switch
        {
            _ when SearchEndStatus.IsNormalEnd(done.Status) => null,
            ProtocolError.NodeClosing or ProtocolError.NodeBusy or ProtocolError.TooManySearches => new NodeUnavailableException(done.Status, done.Message),
            ProtocolError.InvalidQuery => new ArgumentException(done.Message),
            _ => new P2PException(done.Status, done.Message),
        };
        Results.Complete(error);
    }

    public void Fail(Exception error) => Results.Complete(error);
}
