using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Net;

/// <summary>
/// The first exchange of every connection: the dialer says Hello (version, role, identity), the server answers
/// Welcome with its availability, or Error. A server that is closing or busy says so and the dialer gets a clear error.
/// </summary>
internal static class Handshake
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connects through <paramref name="dialer"/> and handshakes. The connection is returned only when the server is available.</summary>
    public static async Task<(FrameConnection Connection, Welcome Welcome)> DialAsync(
        IConnectionDialer dialer, string address, int defaultPort, Hello hello, TimeSpan timeout, CancellationToken cancellationToken, int readBufferSize = 16 * 1024)
    {
        var transport = await dialer.DialAsync(address, defaultPort, timeout, cancellationToken).ConfigureAwait(false);
        var connection = new FrameConnection(transport, readBufferSize);
        try
        {
            await connection.SendAsync(hello, cancellationToken).ConfigureAwait(false);
            IMessage? reply;
            try
            {
                reply = await ReceiveFirstAsync(connection, timeout, WelcomeOrError, cancellationToken).ConfigureAwait(false);
            }
            catch (ProtocolException ex) when (ex.Code is ProtocolError.UnknownCode or ProtocolError.ReservedFlags or ProtocolError.FrameTooLarge or ProtocolError.UnexpectedMessage)
            {
                // The first header is not that of a Welcome or an Error: whatever answered, it does not speak this protocol.
                throw new P2PException(ProtocolError.NotP2PNode, $"{address} is not a P2PTransfer node: its answer to Hello is not a Welcome or Error frame ({ex.Message})", ex);
            }

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
                default:
                    throw new P2PException(ProtocolError.ConnectionLost, $"{address} closed the connection during the handshake");
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
        var first = await ReceiveFirstAsync(connection, timeout, HelloOnly, cancellationToken).ConfigureAwait(false);
        return first as Hello ?? throw new P2PException(ProtocolError.ConnectionLost, $"{connection.RemoteEndPoint} closed the connection before saying Hello");
    }

    // The place of a frame is judged from its header, before its payload is read (docs/protocol.md section 2).
    private static ProtocolException? HelloOnly(MessageCode code) =>
        code == MessageCode.Hello ? null : new ProtocolException(ProtocolError.UnexpectedMessage, $"the first frame must be Hello, got {code}");

    private static ProtocolException? WelcomeOrError(MessageCode code) =>
        code is MessageCode.Welcome or MessageCode.Error ? null : new ProtocolException(ProtocolError.UnexpectedMessage, $"the first frame must be Welcome or Error, got {code}");

    private static string Where(Welcome welcome, string address) => welcome.Endpoint.Length > 0 ? welcome.Endpoint : address;

    private static async Task<IMessage?> ReceiveFirstAsync(FrameConnection connection, TimeSpan timeout, Func<MessageCode, ProtocolException?> refuse, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            return await connection.ReceiveAsync(ProtocolLimits.MaxHandshakePayload, refuse, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProtocolException(ProtocolError.HandshakeTimeout, $"handshake with {connection.RemoteEndPoint} not completed within {timeout.TotalSeconds:0.#} s");
        }
    }
}
