using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Net;

/// <summary>
/// The first exchange of every connection: the dialer says Hello (version, role, identity), the server answers
/// Welcome with its availability, or Error. A server that is closing or busy says so and the dialer gets a clear error.
/// </summary>
public static class Handshake
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connects and handshakes. The connection is returned only when the server is available.</summary>
    public static async Task<(FrameConnection Connection, Welcome Welcome)> DialAsync(
        string address, int defaultPort, Hello hello, TimeSpan timeout, CancellationToken cancellationToken, int readBufferSize = 16 * 1024)
    {
        var endpoint = await NetworkAddress.ResolveAsync(address, defaultPort, cancellationToken).ConfigureAwait(false);
        var connection = await FrameConnection.ConnectAsync(endpoint, timeout, cancellationToken, readBufferSize).ConfigureAwait(false);
        try
        {
            await connection.SendAsync(hello, cancellationToken).ConfigureAwait(false);
            var reply = await ReceiveFirstAsync(connection, timeout, cancellationToken).ConfigureAwait(false);
            switch (reply)
            {
                case Welcome { Availability: NodeAvailability.Available } welcome:
                    return (connection, welcome);
                case Welcome { Availability: NodeAvailability.Closing } welcome:
                    throw new NodeUnavailableException(ProtocolError.NodeClosing, $"node {welcome.Name} ({Where(welcome, address)}) is shutting down");
                case Welcome welcome:
                    throw new NodeUnavailableException(ProtocolError.NodeBusy, $"node {welcome.Name} ({Where(welcome, address)}) is busy: connection limit reached");
                case ErrorMessage error:
                    throw new P2PException(error.Error, $"{address} refused the connection: {error.Message}");
                case null:
                    throw new P2PException(ProtocolError.ConnectionLost, $"{address} closed the connection during the handshake");
                default:
                    throw new ProtocolException(ProtocolError.UnexpectedMessage, $"{address} answered Hello with {reply.Code}");
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Server side: reads the dialer's Hello. Throws <see cref="ProtocolException"/> for anything else.</summary>
    public static async Task<Hello> AcceptAsync(FrameConnection connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var first = await ReceiveFirstAsync(connection, timeout, cancellationToken).ConfigureAwait(false);
        return first switch
        {
            Hello hello => hello,
            null => throw new P2PException(ProtocolError.ConnectionLost, $"{connection.RemoteEndPoint} closed the connection before saying Hello"),
            _ => throw new ProtocolException(ProtocolError.UnexpectedMessage, $"the first frame must be Hello, got {first.Code}"),
        };
    }

    private static string Where(Welcome welcome, string address) => welcome.Endpoint.Length > 0 ? welcome.Endpoint : address;

    private static async Task<IMessage?> ReceiveFirstAsync(FrameConnection connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            return await connection.ReceiveAsync(ProtocolLimits.MaxHandshakePayload, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProtocolException(ProtocolError.HandshakeTimeout, $"handshake with {connection.RemoteEndPoint} not completed within {timeout.TotalSeconds:0.#} s");
        }
    }
}
