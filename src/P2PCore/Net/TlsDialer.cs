using P2PTransfer.Protocol;

namespace P2PTransfer.Net;

/// <summary>
/// Dials through another dialer (TCP, or any transport) and secures the connection with TLS 1.3 as the TLS
/// client, presenting the certificate of <paramref name="credentials"/>. The connection and the TLS handshake
/// share one time limit.
/// </summary>
internal sealed class TlsDialer(IConnectionDialer inner, NodeCredentials credentials) : IConnectionDialer
{
    /// <summary>A pure client's dialer: TCP, with the process's client key.</summary>
    public static TlsDialer Client { get; } = new(TcpDialer.Instance, NodeCredentials.Client);

    /// <summary>A pure client's dialer for a private network (<paramref name="networkKey"/>), or <see cref="Client"/> for an open one.</summary>
    public static TlsDialer ClientOf(byte[]? networkKey) =>
        networkKey is null ? Client : new(TcpDialer.Instance, NodeCredentials.Client.WithNetworkKey(networkKey));

    public NodeCredentials Credentials => credentials;

    /// <summary>Returns a <see cref="TlsConnection"/>; see <see cref="IConnectionDialer.DialAsync"/> for the errors.</summary>
    public async Task<ITransportConnection> DialAsync(string address, int defaultPort, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        ITransportConnection transport;
        try
        {
            transport = await inner.DialAsync(address, defaultPort, timeout, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new P2PException(ProtocolError.Timeout, $"no answer from {address} within {timeout.TotalSeconds:0.#} s");
        }

        try
        {
            return await TlsConnection.ConnectAsync(transport, credentials, address, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProtocolException(ProtocolError.HandshakeTimeout, $"TLS handshake with {address} not completed within {timeout.TotalSeconds:0.#} s");
        }
    }
}
