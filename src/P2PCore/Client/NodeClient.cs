using P2PTransfer.Net;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Client;

/// <summary>
/// A pure client's connection to one node's server (no local node needed). It knows when the server is
/// scheduled for closing and then refuses to send new requests with a clear error.
/// </summary>
public sealed class NodeClient : Session, IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private NodeClient(FrameConnection connection, Welcome welcome, string address)
        : base(connection, welcome.NodeId, welcome.Name, welcome.Endpoint.Length > 0 ? welcome.Endpoint : address, welcome.Availability)
    {
        _run = RunAsync(_stop.Token);
    }

    /// <summary>Connects and handshakes; fails with <see cref="NodeUnavailableException"/> when the server is closing or busy.</summary>
    public static async Task<NodeClient> ConnectAsync(string address, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var hello = new Hello(ProtocolLimits.Version, ConnectionRole.Client, Guid.Empty, string.Empty, string.Empty);
        var (connection, welcome) = await Handshake.DialAsync(address, NodeOptions.DefaultPort, hello, timeout ?? Handshake.DefaultTimeout, cancellationToken).ConfigureAwait(false);
        return new NodeClient(connection, welcome, address);
    }

    /// <summary>One round trip to the server. Throws when the server is shutting down or the connection is gone.</summary>
    public async Task<TimeSpan> PingAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        EnsureAvailable();
        try
        {
            return await MeasureRoundTripAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (P2PException ex) when (ex.Code is ProtocolError.Shutdown or ProtocolError.NodeClosing
            || RemoteAvailability == NodeAvailability.Closing || CloseReason is ProtocolError.Shutdown)
        {
            // The goodbye overtook the answer: say what the user needs to know, not how the socket ended.
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {RemoteName} ({RemoteEndpoint}) is shutting down");
        }
    }

    /// <summary>Throws the error a user should see if the server can take no new request.</summary>
    public void EnsureAvailable()
    {
        if (RemoteAvailability == NodeAvailability.Closing || CloseReason is ProtocolError.Shutdown or ProtocolError.NodeClosing)
        {
            throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {RemoteName} ({RemoteEndpoint}) is shutting down");
        }

        if (Closed.IsCompleted || CloseReason != ProtocolError.None)
        {
            throw new P2PException(CloseReason == ProtocolError.None ? ProtocolError.ConnectionLost : CloseReason, CloseMessage ?? $"connection to {RemoteEndpoint} is closed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync(ProtocolError.None, "client done").ConfigureAwait(false);
        _stop.Cancel();
        await _run.ConfigureAwait(false);
        _stop.Dispose();
    }
}
