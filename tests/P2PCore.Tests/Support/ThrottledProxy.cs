using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// Forwards one TCP connection on loopback to a node over a slow link: what the node sends is taken at once (so its
/// socket never waits on a closed TCP window) and passed on to the client at a steady rate, a chunk per interval;
/// what the client sends passes straight through.
/// </summary>
public sealed class ThrottledProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public ThrottledProxy(string host, string upstream, int chunkBytes, TimeSpan interval)
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Parse(host), 0));
        _listener.Listen(1);
        Endpoint = _listener.LocalEndPoint!.ToString()!;
        _run = RunAsync(IPEndPoint.Parse(upstream), chunkBytes, interval);
    }

    public string Endpoint { get; }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private async Task RunAsync(IPEndPoint upstream, int chunkBytes, TimeSpan interval)
    {
        try
        {
            using var down = await _listener.AcceptAsync(_stop.Token);
            using var up = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await up.ConnectAsync(upstream, _stop.Token);
            // Unbounded on purpose: a test sends a few megabytes at most, and the link must never push back.
            var link = Channel.CreateUnbounded<byte[]>();
            await Task.WhenAll(ForwardAsync(down, up), TakeAsync(up, link.Writer), PaceAsync(link.Reader, down, chunkBytes, interval));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ForwardAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            // Bounded: a test connection carries a few frames; the loop also ends at end of stream or on dispose.
            for (int chunk = 0; chunk < 100_000; chunk++)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
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

    private async Task TakeAsync(Socket from, ChannelWriter<byte[]> link)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            for (int chunk = 0; chunk < 100_000; chunk++)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                link.TryWrite(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            link.TryComplete();
        }
    }

    private async Task PaceAsync(ChannelReader<byte[]> link, Socket to, int chunkBytes, TimeSpan interval)
    {
        var pending = new Queue<byte[]>();
        int offset = 0;
        try
        {
            for (int tick = 0; tick < 100_000; tick++)
            {
                if (pending.Count == 0)
                {
                    if (!await link.WaitToReadAsync(_stop.Token))
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }
                }

                while (link.TryRead(out var taken))
                {
                    pending.Enqueue(taken);
                }

                // One chunk of at most chunkBytes, then the interval: a link of chunkBytes per interval.
                int budget = chunkBytes;
                while (budget > 0 && pending.TryPeek(out var head))
                {
                    int n = Math.Min(budget, head.Length - offset);
                    await to.SendAsync(head.AsMemory(offset, n), SocketFlags.None, _stop.Token);
                    budget -= n;
                    offset += n;
                    if (offset == head.Length)
                    {
                        pending.Dequeue();
                        offset = 0;
                    }
                }

                await Task.Delay(interval, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }
}
