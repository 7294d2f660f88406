using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Net;

/// <summary>
/// The first exchange of every connection: TLS 1.3 (both sides prove their node key), then the dialer says Hello
/// (version, role, identity) and the server answers Welcome with its availability, or Error. A server that is
/// closing or busy says so and the dialer gets a clear error.
/// </summary>
internal static class Handshake
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Connects through <paramref name="dialer"/>, which must secure the connection (<see cref="TlsDialer"/>), and
    /// handshakes. When <paramref name="expectedId"/> is given, a remote that proves another id is refused before
    /// anything is sent (WrongNode). The connection is returned only when the server is available.
    /// </summary>
    public static async Task<(FrameConnection Connection, Welcome Welcome)> DialAsync(
        IConnectionDialer dialer, string address, int defaultPort, Hello hello, TimeSpan timeout, CancellationToken cancellationToken, int readBufferSize = 16 * 1024, Guid? expectedId = null)
    {
        var transport = await dialer.DialAsync(address, defaultPort, timeout, cancellationToken).ConfigureAwait(false);
        if (transport is not TlsConnection tls)
        {
            transport.Dispose();
            throw new InvalidOperationException("the dialer gave a connection without TLS: wrap it in a TlsDialer");
        }

        if (expectedId is { } expected && tls.RemoteId != expected)
        {
            tls.Dispose();
            throw new P2PException(ProtocolError.WrongNode, $"{address} answered as node {Identity.NodeIdText.Format(tls.RemoteId)}, expected {Identity.NodeIdText.Format(expected)}");
        }

        var connection = new FrameConnection(tls, readBufferSize);
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

    /// <summary>
    /// Server side, first step: secures a connection just accepted. The first byte tells a TLS dialer (a TLS
    /// handshake record) from a protocol-1 dialer (a plaintext Hello), which gets one plaintext
    /// <c>Error(103 UnsupportedVersion)</c> and the close; anything else is closed without a word. Owns
    /// <paramref name="transport"/>: disposed when this fails (P2PException; OperationCanceledException when
    /// <paramref name="cancellationToken"/> ends it).
    /// </summary>
    public static async Task<TlsConnection> SecureAsync(ITransportConnection transport, NodeCredentials credentials, CancellationToken cancellationToken)
    {
        var stream = new LeadingBytesStream(transport.Stream);
        int first;
        try
        {
            first = await stream.PeekByteAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            transport.Dispose();
            throw ex is OperationCanceledException ? ex : new P2PException(ProtocolError.ConnectionLost, $"connection from {transport.RemoteAddress} lost: {ex.Message}", ex);
        }

        if (first == TlsConnection.HandshakeRecordType)
        {
            return await TlsConnection.AcceptAsync(transport, stream, credentials, cancellationToken).ConfigureAwait(false);
        }

        if (first == (int)MessageCode.Hello)
        {
            // The one plaintext frame this node ever sends, so that an old dialer can say what is wrong.
            var plaintext = new FrameConnection(new PlaintextTransport(transport, stream));
            await plaintext.CloseAsync(ErrorMessage.Create(ProtocolError.UnsupportedVersion,
                $"this node speaks protocol {ProtocolLimits.Version} (TLS 1.3 on every connection); protocol 1 (plaintext) is no longer supported")).ConfigureAwait(false);
            throw new P2PException(ProtocolError.UnsupportedVersion, $"{transport.RemoteAddress} spoke protocol 1 (plaintext) and was told this node speaks protocol {ProtocolLimits.Version}");
        }

        transport.Dispose();
        throw new P2PException(ProtocolError.NotP2PNode, first < 0
            ? $"{transport.RemoteAddress} closed the connection before sending anything"
            : $"{transport.RemoteAddress} sent 0x{first:X2} first: neither a TLS handshake nor a Hello");
    }

    /// <summary>Server side, second step: reads the dialer's Hello. Throws <see cref="ProtocolException"/> for anything else.</summary>
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

    /// <summary>A transport read through a stream that holds a byte already peeked at.</summary>
    private sealed class PlaintextTransport(ITransportConnection inner, Stream stream) : ITransportConnection
    {
        public Stream Stream => stream;

        public string RemoteAddress => inner.RemoteAddress;

        public ValueTask ShutdownSendAsync() => inner.ShutdownSendAsync();

        public void Abort() => inner.Abort();

        public void Dispose() => inner.Dispose();
    }
}
