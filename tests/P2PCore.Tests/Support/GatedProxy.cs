using System.Net.Sockets;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// A path to a node that passes the node's first bytes and then holds everything else the node sends until the test
/// opens the gate: a download through it stops partway through a file, for as long as the test needs. What the client
/// sends passes straight through.
/// </summary>
public sealed class GatedProxy : OneConnectionProxy
{
    private readonly long _passFirst;
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GatedProxy(string host, string upstream, long passFirst)
        : base(host)
    {
        _passFirst = passFirst;
        Start(upstream);
    }

    /// <summary>Completes once the first bytes have passed and the next ones are held.</summary>
    public Task Holding => _holding.Task;

    /// <summary>Lets everything through from now on.</summary>
    public void Open() => _open.TrySetResult();

    protected override Task ClientToNodeAsync(Socket client, Socket node) => ForwardAsync(client, node);

    protected override Task NodeToClientAsync(Socket node, Socket client) => Quietly(async () =>
    {
        var buffer = new byte[64 * 1024];
        long passed = 0;
        // Bounded: a test connection carries a few megabytes; the loop also ends at end of stream or on dispose.
        for (int chunk = 0; chunk < 100_000; chunk++)
        {
            int n = await node.ReceiveAsync(buffer, SocketFlags.None, Stopping);
            if (n == 0)
            {
                client.Shutdown(SocketShutdown.Send);
                return;
            }

            if (passed >= _passFirst && !_open.Task.IsCompleted)
            {
                _holding.TrySetResult();
                await _open.Task.WaitAsync(Stopping);
            }

            await client.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, Stopping);
            passed += n;
        }
    });
}
