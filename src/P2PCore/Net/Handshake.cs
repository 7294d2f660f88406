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

        if (!tls.Local.Admits(tls.RemoteId))
        {
            tls.Dispose();
            throw new P2PException(ProtocolError.NotTrusted, $"{address} is node {Identity.NodeIdText.Format(tls.RemoteId)}, which is not one of this node's trusted nodes (-TrustedNode)");
        }

        var connection = new FrameConnection(tls, readBufferSize);
        try
        {
            // A new nonce for every connection, whoever made the Hello.
            hello = hello with { Nonce = Bytes32.Random() };
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

            if (reply is Welcome answered)
            {
                CheckWelcome(hello, answered, tls, address);
            }

            switch (reply)
            {
                case Welcome { Availability: NodeAvailability.Available } welcome:
                    await ProveMembershipAsync(connection, hello, welcome, address, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Server side, second step: reads the dialer's Hello over a secured connection. Throws
    /// <see cref="ProtocolException"/> for anything else, and for a Hello whose node id is not the one the dialer's
    /// certificate proves (IdentityMismatch).
    /// </summary>
    public static async Task<Hello> AcceptAsync(FrameConnection connection, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tls = connection.Transport as TlsConnection ?? throw new InvalidOperationException("a handshake needs a TLS connection");
        var first = await ReceiveFirstAsync(connection, timeout, HelloOnly, cancellationToken).ConfigureAwait(false);
        var hello = first as Hello ?? throw new P2PException(ProtocolError.ConnectionLost, $"{connection.RemoteEndPoint} closed the connection before saying Hello");
        if (hello.NodeId != tls.RemoteId)
        {
            throw new ProtocolException(ProtocolError.IdentityMismatch, $"Hello field 'nodeId' is {Identity.NodeIdText.Format(hello.NodeId)}, but the dialer's certificate proves node {Identity.NodeIdText.Format(tls.RemoteId)}");
        }

        return hello;
    }

    /// <summary>
    /// Server side of a private network, after its Welcome (which carries its own proof): reads the dialer's
    /// MembershipProof, which must come first, and checks it. Throws <see cref="ProtocolException"/> NotMember for
    /// another frame or a proof that does not match, HandshakeTimeout when none comes in time.
    /// </summary>
    public static async Task ExpectMembershipProofAsync(FrameConnection connection, Hello hello, Welcome welcome, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tls = (TlsConnection)connection.Transport;
        var key = tls.Local.NetworkKey ?? throw new InvalidOperationException("an open network takes no membership proof");
        var first = await ReceiveFirstAsync(connection, timeout, ProofOnly, cancellationToken).ConfigureAwait(false);
        var proof = first as MembershipProof ?? throw new P2PException(ProtocolError.ConnectionLost, $"{connection.RemoteEndPoint} closed the connection before proving it is a member");
        var expected = Membership.Proof(key, Membership.DialerRole, tls.RemoteId, tls.Local.Id, hello.Nonce, welcome.Nonce);
        if (!Bytes32.FixedTimeEquals(proof.Proof, expected))
        {
            throw new ProtocolException(ProtocolError.NotMember, $"node {Identity.NodeIdText.Format(tls.RemoteId)} is not a member of this network: its membership proof does not match the network key");
        }
    }

    /// <summary>The version the server answers <paramref name="hello"/> with (Hello.Read made sure there is one).</summary>
    public static ushort ChosenVersion(Hello hello) => ProtocolLimits.Negotiate(hello.MinVersion, hello.MaxVersion) ?? ProtocolLimits.Version;

    /// <summary>
    /// The dialer's checks of a Welcome (docs/protocol.md section 5): the version is one the Hello offered, and the
    /// node id is the one TLS proved. Either failure closes the connection without a word.
    /// </summary>
    private static void CheckWelcome(Hello hello, Welcome welcome, TlsConnection tls, string address)
    {
        if (welcome.Version < hello.MinVersion || welcome.Version > hello.MaxVersion)
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"{address} chose protocol version {welcome.Version}, which its Hello did not offer ({hello.MinVersion} to {hello.MaxVersion})");
        }

        if (welcome.NodeId != tls.RemoteId)
        {
            throw new P2PException(ProtocolError.IdentityMismatch, $"{address}'s Welcome names node {Identity.NodeIdText.Format(welcome.NodeId)}, but its certificate proves node {Identity.NodeIdText.Format(tls.RemoteId)}");
        }
    }

    // The place of a frame is judged from its header, before its payload is read (docs/protocol.md section 2).
    private static ProtocolException? HelloOnly(MessageCode code) =>
        code == MessageCode.Hello ? null : new ProtocolException(ProtocolError.UnexpectedMessage, $"the first frame must be Hello, got {code}");

    private static ProtocolException? ProofOnly(MessageCode code) =>
        code == MessageCode.MembershipProof ? null : new ProtocolException(ProtocolError.NotMember, $"this node belongs to a private network: the first frame after its Welcome must be a membership proof, got {code}");

    /// <summary>
    /// The dialer's side of membership, on a Welcome(Available): a dialer with a network key checks the server's
    /// proof and sends its own right after; a dialer without one refuses a private server, and a dialer with one an
    /// open server or a wrong proof (NotMember, closing without a word).
    /// </summary>
    private static async Task ProveMembershipAsync(FrameConnection connection, Hello hello, Welcome welcome, string address, CancellationToken cancellationToken)
    {
        var tls = (TlsConnection)connection.Transport;
        var key = tls.Local.NetworkKey;
        var node = $"node {welcome.Name} ({Where(welcome, address)})";
        if (key is null)
        {
            if (welcome.Proof is not null)
            {
                throw new P2PException(ProtocolError.NotMember, $"{node} belongs to a private network: connecting to it needs the network's key (-NetworkKey)");
            }

            return;
        }

        var expected = Membership.Proof(key, Membership.ServerRole, tls.Local.Id, tls.RemoteId, hello.Nonce, welcome.Nonce);
        if (welcome.Proof is not { } proof || !Bytes32.FixedTimeEquals(proof, expected))
        {
            throw new P2PException(ProtocolError.NotMember, welcome.Proof is null
                ? $"{node} is not a member of this network: it is on an open network"
                : $"{node} is not a member of this network: its membership proof does not match the network key");
        }

        await connection.SendAsync(new MembershipProof(Membership.Proof(key, Membership.DialerRole, tls.Local.Id, tls.RemoteId, hello.Nonce, welcome.Nonce)), cancellationToken).ConfigureAwait(false);
    }

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
