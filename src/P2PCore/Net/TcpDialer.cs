using System.Net;
using System.Net.Sockets;
using P2PTransfer.Protocol;

namespace P2PTransfer.Net;

/// <summary>Dials plain TCP: resolves the address, then connects within the timeout.</summary>
/// <param name="localAddress">
/// The address a node listens on: when it is one address (not all interfaces), connections leave from it, so other
/// nodes count them against that address (their limits per source), not against whichever one the system picks. A
/// loopback address is used for loopback destinations only, and an address of another family not at all.
/// </param>
internal sealed class TcpDialer(IPAddress? localAddress = null) : IConnectionDialer
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
            if (localAddress is { } local && !local.Equals(IPAddress.Any) && !local.Equals(IPAddress.IPv6Any)
                && local.AddressFamily == endpoint.AddressFamily && IPAddress.IsLoopback(local) == IPAddress.IsLoopback(endpoint.Address))
            {
                socket.Bind(new IPEndPoint(local, 0));
            }

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
