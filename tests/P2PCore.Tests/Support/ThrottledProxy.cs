using System.Net.Sockets;
using System.Threading.Channels;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// Forwards one TCP connection on loopback to a node over a slow link: what the node sends is taken at once (so its
/// socket never waits on a closed TCP window) and passed on to the client at a steady rate, a chunk per interval;
/// what the client sends passes straight through.
/// </summary>
public sealed class ThrottledProxy : OneConnectionProxy
{
    private readonly int _chunkBytes;
    private readonly TimeSpan _interval;

    public ThrottledProxy(string host, string upstream, int chunkBytes, TimeSpan interval)
        : base(host)
    {
        _chunkBytes = chunkBytes;
        _interval = interval;
        Start(upstream);
    }

    protected override Task ClientToNodeAsync(Socket client, Socket node) => ForwardAsync(client, node);

    protected override Task NodeToClientAsync(Socket node, Socket client)
    {
        // Unbounded on purpose: a test sends a few megabytes at most, and the link must never push back.
        var link = Channel.CreateUnbounded<byte[]>();
        return Task.WhenAll(TakeAsync(node, link.Writer), PaceAsync(link.Reader, client));
    }

    private Task TakeAsync(Socket from, ChannelWriter<byte[]> link) => Quietly(async () =>
    {
        var buffer = new byte[64 * 1024];
        try
        {
            for (int chunk = 0; chunk < 100_000; chunk++)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, Stopping);
                if (n == 0)
                {
                    break;
                }

                link.TryWrite(buffer.AsSpan(0, n).ToArray());
            }
        }
        finally
        {
            link.TryComplete();
        }
    });

    private Task PaceAsync(ChannelReader<byte[]> link, Socket to) => Quietly(async () =>
    {
        var pending = new Queue<byte[]>();
        int offset = 0;
        for (int tick = 0; tick < 100_000; tick++)
        {
            if (pending.Count == 0 && !await link.WaitToReadAsync(Stopping))
            {
                to.Shutdown(SocketShutdown.Send);
                return;
            }

            while (link.TryRead(out var taken))
            {
                pending.Enqueue(taken);
            }

            // One chunk of at most chunkBytes, then the interval: a link of chunkBytes per interval.
            for (int budget = _chunkBytes; budget > 0 && pending.TryPeek(out var head);)
            {
                int n = Math.Min(budget, head.Length - offset);
                await to.SendAsync(head.AsMemory(offset, n), SocketFlags.None, Stopping);
                budget -= n;
                offset += n;
                if (offset == head.Length)
                {
                    pending.Dequeue();
                    offset = 0;
                }
            }

            await Task.Delay(_interval, Stopping);
        }
    });
}
