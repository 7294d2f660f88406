using System.Threading.Channels;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Search;

namespace P2PTransfer.Client;

/// <summary>One search a pure client has open on its connection: the SearchResults frames until SearchDone.</summary>
internal sealed class RemoteSearch
{
    private readonly Channel<SearchResults> _frames = Channel.CreateUnbounded<SearchResults>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public ChannelReader<SearchResults> Frames => _frames.Reader;

    public SearchDone? Done { get; private set; }

    private long _bufferedBytes;
    private int _buffered;

    /// <summary>True while results wait for the reader.</summary>
    public bool HasBuffered => Volatile.Read(ref _buffered) > 0;

    /// <summary>Results dropped because the reader lagged too far behind (the server sends without waiting for it).</summary>
    public int Dropped { get; private set; }

    /// <summary>Called by the read loop only; keeps what waits for the reader bounded, as the server does.</summary>
    public void Add(SearchResults results)
    {
        if (results.Files.Count == 0)
        {
            return;
        }

        long bytes = MemorySizeOf(results);
        if (Volatile.Read(ref _buffered) + results.Files.Count > SearchLimits.MaxBufferedResults
            || Interlocked.Read(ref _bufferedBytes) + bytes > SearchLimits.MaxBufferedBytes)
        {
            Dropped += results.Files.Count;
            return;
        }

        Interlocked.Add(ref _buffered, results.Files.Count);
        Interlocked.Add(ref _bufferedBytes, bytes);
        _frames.Writer.TryWrite(results);
    }

    /// <summary>The reader took a frame.</summary>
    public void Taken(SearchResults results)
    {
        Interlocked.Add(ref _buffered, -results.Files.Count);
        Interlocked.Add(ref _bufferedBytes, -MemorySizeOf(results));
    }

    private static long MemorySizeOf(SearchResults results) =>
        new ResultBatch(results.Source, results.Hops, results.Direct, results.Route, results.Files).MemorySize;

    /// <summary>The server ended the search; a refusal becomes the reader's error.</summary>
    public void Finish(SearchDone done)
    {
        Done = done;
        Exception? error = done.Status switch
        {
            ProtocolError.None => null,
            ProtocolError.NodeClosing or ProtocolError.NodeBusy or ProtocolError.TooManySearches => new NodeUnavailableException(done.Status, done.Message),
            ProtocolError.InvalidQuery => new ArgumentException(done.Message),
            _ => new P2PException(done.Status, done.Message),
        };
        _frames.Writer.TryComplete(error);
    }

    public void Fail(Exception error) => _frames.Writer.TryComplete(error);
}
