using System.Net.Sockets;
using P2PTransfer.Protocol;

namespace P2PTransfer.Net;

/// <summary>Dials plain TCP: resolves the address, then connects within the timeout.</summary>
internal sealed class TcpDialer : IConnectionDialer
{
    public static TcpDialer Instance { get; } = new();

    public async Task<ITransportConnection> DialAsync(string address, int defaultPort, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var endpoint = await NetworkAddress.ResolveAsync(address, defaultPort, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(endpoint, timer.Token).ConfigureAwait(false);
            return new TcpConnection(socket);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new P2PException(ProtocolError.Timeout, $"no answer from {endpoint} within {timeout.TotalSeconds:0.#} s");
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new P2PException(ProtocolError.ConnectionLost, $"cannot connect to {endpoint}: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
