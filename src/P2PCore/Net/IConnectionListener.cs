namespace P2PTransfer.Net;

/// <summary>Takes the connections other nodes and clients open to this node; disposing it stops listening.</summary>
internal interface IConnectionListener : IDisposable
{
    /// <summary>
    /// The next connection. Throws <see cref="OperationCanceledException"/> or <see cref="ObjectDisposedException"/>
    /// once the listener is stopped; an <see cref="IOException"/> or a SocketException for one connection that
    /// failed before it was taken (the listener goes on).
    /// </summary>
    ValueTask<ITransportConnection> AcceptAsync(CancellationToken cancellationToken);
}
