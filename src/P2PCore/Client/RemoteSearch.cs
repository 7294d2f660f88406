using System.Threading.Channels;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Client;

/// <summary>One search a pure client has open on its connection: the SearchResults frames until SearchDone.</summary>
internal sealed class RemoteSearch
{
    private readonly Channel<SearchResults> _frames = Channel.CreateUnbounded<SearchResults>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public ChannelReader<SearchResults> Frames => _frames.Reader;

    public SearchDone? Done { get; private set; }

    public void Add(SearchResults results) => _frames.Writer.TryWrite(results);

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
