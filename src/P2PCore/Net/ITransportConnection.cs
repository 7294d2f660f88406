namespace P2PTransfer.Net;

/// <summary>
/// A byte stream to another node, as a transport gives it: TCP, or TLS over one (<see cref="TlsConnection"/>);
/// reverse connections and relayed circuits are other implementations. <see cref="FrameConnection"/>
/// speaks frames over it and owns it: disposing it ends the connection.
/// </summary>
internal interface ITransportConnection : IDisposable
{
    /// <summary>Both directions of the connection.</summary>
    Stream Stream { get; }

    /// <summary>The remote's address as this side sees it, for messages and logs.</summary>
    string RemoteAddress { get; }

    /// <summary>
    /// Ends this side's sending after what was written: the remote reads it all, then the end of the stream, and
    /// can still send. Throws <see cref="IOException"/>, a SocketException or <see cref="ObjectDisposedException"/>
    /// when the connection is already gone. Waits while the remote does not read (TLS has a closing record to send).
    /// </summary>
    ValueTask ShutdownSendAsync();

    /// <summary>Ends the connection at once, whatever is in flight: for a connection that cannot go on.</summary>
    void Abort();
}
