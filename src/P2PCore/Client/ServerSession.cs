using P2PTransfer.Net;
using P2PTransfer.Protocol;

namespace P2PTransfer.Client;

/// <summary>
/// A client's session with the server it dialled, under a <see cref="NodeClient"/>: it takes the answers a client receives (search results, pieces,
/// refusals) and hands them to the client; anything else breaks the protocol as on any session.
/// </summary>
internal sealed class ServerSession : Session
{
    private readonly Func<IMessage, bool> _takeAnswer;

    public ServerSession(FrameConnection connection, Guid remoteId, string remoteName, string remoteEndpoint, NodeAvailability remoteAvailability, Func<IMessage, bool> takeAnswer)
        : base(connection, remoteId, remoteName, remoteEndpoint, remoteAvailability)
    {
        _takeAnswer = takeAnswer;
    }

    /// <summary>'node name (endpoint)' for messages.</summary>
    public new string Describe() => base.Describe();

    protected override bool TakesRequest(MessageCode code) => code is MessageCode.SearchResults or MessageCode.SearchDone or MessageCode.PieceList or MessageCode.PieceData or MessageCode.TransferRefused;

    protected override ValueTask<bool> HandleRequestAsync(IMessage message, CancellationToken cancellationToken) =>
        _takeAnswer(message) ? ValueTask.FromResult(true) : base.HandleRequestAsync(message, cancellationToken);
}
