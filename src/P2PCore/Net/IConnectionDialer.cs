namespace P2PTransfer.Net;

/// <summary>Opens connections to other nodes: TCP today; TLS, reverse and relayed dialers plug in here.</summary>
internal interface IConnectionDialer
{
    /// <summary>
    /// Opens a connection to <paramref name="address"/> ('host:port', the port defaulting to
    /// <paramref name="defaultPort"/>). Fails with <see cref="Protocol.P2PException"/>: an address that cannot be
    /// reached says why (HostNotFound and the like), nobody answering within <paramref name="timeout"/> is Timeout,
    /// a refusal is ConnectionLost.
    /// </summary>
    Task<ITransportConnection> DialAsync(string address, int defaultPort, TimeSpan timeout, CancellationToken cancellationToken);
}
