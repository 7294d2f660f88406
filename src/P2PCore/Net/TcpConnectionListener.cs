using System.Net;
using System.Net.Sockets;
using P2PTransfer.Protocol;

namespace P2PTransfer.Net;

/// <summary>Listens for TCP connections on one address and port.</summary>
internal sealed class TcpConnectionListener : IConnectionListener
{
    private readonly Socket _socket;

    private TcpConnectionListener(Socket socket)
    {
        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    /// <summary>Where it listens: the port the system chose when asked for port 0.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Binds and listens; AddressInUse when another program or node has the port, ConnectionLost for other failures.</summary>
    public static TcpConnectionListener Bind(IPAddress address, int port)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(512);
            return new TcpConnectionListener(socket);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            var where = NetworkAddress.Format(address.ToString(), port);
            throw ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? new P2PException(ProtocolError.AddressInUse, $"cannot listen on {where}: the address is already in use (another program or node listens on port {port})", ex)
                : new P2PException(ProtocolError.ConnectionLost, $"cannot listen on {where}: {ex.Message}", ex);
        }
    }

    public async ValueTask<ITransportConnection> AcceptAsync(CancellationToken cancellationToken) =>
        new TcpConnection(await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false));

    public void Dispose() => _socket.Dispose();
}
