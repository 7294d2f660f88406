using System.Net;
using System.Net.Sockets;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// Forwards one TCP connection on loopback to a node, holding every chunk for a fixed time in each direction:
/// a slow network path, so that tests can order events the way a real network sometimes does.
/// </summary>
public sealed class LatencyProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private volatile bool _holdingUpstream;

    public LatencyProxy(string host, string upstream, TimeSpan latency)
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Parse(host), 0));
        _listener.Listen(1);
        Endpoint = _listener.LocalEndPoint!.ToString()!;
        _run = RunAsync(IPEndPoint.Parse(upstream), latency);
    }

    public string Endpoint { get; }

    /// <summary>From now on what the upstream sends is held, never passed on: it stays on the way however slow the test is.</summary>
    public void HoldUpstream() => _holdingUpstream = true;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private async Task RunAsync(IPEndPoint upstream, TimeSpan latency)
    {
        try
        {
            using var down = await _listener.AcceptAsync(_stop.Token);
            using var up = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await up.ConnectAsync(upstream, _stop.Token);
            await Task.WhenAll(PumpAsync(down, up, latency, fromUpstream: false), PumpAsync(up, down, latency, fromUpstream: true));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Socket from, Socket to, TimeSpan latency, bool fromUpstream)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            // Bounded: a test connection carries a few frames; the loop also ends at end of stream or on dispose.
            for (int chunk = 0; chunk < 100_000; chunk++)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                await Task.Delay(latency, _stop.Token);
                if (fromUpstream && _holdingUpstream)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }
}
