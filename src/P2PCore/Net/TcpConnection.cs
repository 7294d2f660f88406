using System.Net.Sockets;

namespace P2PTransfer.Net;

/// <summary>A TCP connection as the transport seam gives it.</summary>
internal sealed class TcpConnection : ITransportConnection
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    /// <param name="socket">A connected socket, owned from here on.</param>
    public TcpConnection(Socket socket)
    {
        _socket = socket;
        RemoteAddress = socket.RemoteEndPoint?.ToString() ?? "?";
        _stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            // Small control frames: do not wait to coalesce them.
            socket.NoDelay = true;
        }
        catch (SocketException)
        {
            // The connection was reset before we got to it; reads and writes will report that.
        }
    }

    public Stream Stream => _stream;

    public string RemoteAddress { get; }

    public ValueTask ShutdownSendAsync()
    {
        _socket.Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }

    public void Abort() => _socket.Close();

    public void Dispose()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }

        _stream.Dispose();
    }
}
