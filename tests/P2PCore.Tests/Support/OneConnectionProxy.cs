using System.Net;
using System.Net.Sockets;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// A stand-in network path between a client and a node on loopback, for one connection: it listens, accepts the
/// client, connects to the node, and runs the two directions its subclass defines until either side ends or it is
/// disposed. Subclasses shape the path (latency, a paced link, frames dropped).
/// </summary>
public abstract class OneConnectionProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    protected OneConnectionProxy(string host)
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Parse(host), 0));
        _listener.Listen(1);
        Endpoint = _listener.LocalEndPoint!.ToString()!;
    }

    public string Endpoint { get; }

    protected CancellationToken Stopping => _stop.Token;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>Called last by a subclass's constructor, once its own fields are set.</summary>
    protected void Start(string upstream) => _run = RunAsync(IPEndPoint.Parse(upstream));

    /// <summary>What the client sends, on its way to the node.</summary>
    protected abstract Task ClientToNodeAsync(Socket client, Socket node);

    /// <summary>What the node sends, on its way to the client.</summary>
    protected abstract Task NodeToClientAsync(Socket node, Socket client);

    /// <summary>
    /// Passes chunks on as they come, each held for <paramref name="delay"/> first and then until <paramref name="gate"/>
    /// (given the chunk's length) lets it through; until end of stream or dispose.
    /// </summary>
    protected async Task ForwardAsync(Socket from, Socket to, TimeSpan delay = default, Func<int, CancellationToken, Task>? gate = null)
    {
        var buffer = new byte[64 * 1024];
        await Quietly(async () =>
        {
            // Bounded: a test connection carries a few frames; the loop also ends at end of stream or on dispose.
            for (int chunk = 0; chunk < 100_000; chunk++)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, Stopping);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, Stopping);
                }

                if (gate is not null)
                {
                    await gate(n, Stopping);
                }

                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, Stopping);
            }
        });
    }

    /// <summary>Runs a pump; the ends a test brings about (dispose, a closed socket) end it quietly.</summary>
    protected static async Task Quietly(Func<Task> pump)
    {
        try
        {
            await pump();
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task RunAsync(IPEndPoint upstream)
    {
        await Quietly(async () =>
        {
            using var client = await _listener.AcceptAsync(Stopping);
            using var node = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await node.ConnectAsync(upstream, Stopping);
            await Task.WhenAll(ClientToNodeAsync(client, node), NodeToClientAsync(node, client));
        });
    }
}
