using System.Net.Sockets;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// Forwards one TCP connection on loopback to a node, holding every chunk for a fixed time in each direction:
/// a slow network path, so that tests can order events the way a real network sometimes does. It can also hold what
/// the node sends, from a given byte on, until the test lets it through: a download through it stops partway through
/// a file, for as long as the test needs.
/// </summary>
public sealed class LatencyProxy : OneConnectionProxy
{
    private readonly TimeSpan _latency;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _upstreamBytes;
    private long _holdAfterBytes = long.MaxValue;

    public LatencyProxy(string host, string upstream, TimeSpan latency)
        : base(host)
    {
        _latency = latency;
        Start(upstream);
    }

    /// <summary>From now on what the upstream sends is held, not passed on until <see cref="ReleaseUpstream"/>: it stays on the way however slow the test is.</summary>
    public void HoldUpstream() => Interlocked.Exchange(ref _holdAfterBytes, Interlocked.Read(ref _upstreamBytes));

    /// <summary>
    /// Passes what the upstream sends until at least <paramref name="bytes"/> have gone through (the chunk that gets
    /// there is passed whole: at most 64 KiB more), then holds the rest until <see cref="ReleaseUpstream"/>.
    /// Counted in TCP bytes, TLS records and all: to hold what comes after one frame, see WelcomingRelay.
    /// </summary>
    public void HoldUpstreamAfter(long bytes) => Interlocked.Exchange(ref _holdAfterBytes, bytes);

    /// <summary>Completes once what the upstream sends is being held.</summary>
    public Task Holding => _holding.Task;

    /// <summary>Passes on what was held, and everything after it.</summary>
    public void ReleaseUpstream() => _released.TrySetResult();

    protected override Task ClientToNodeAsync(Socket client, Socket node) => ForwardAsync(client, node, _latency);

    protected override Task NodeToClientAsync(Socket node, Socket client) => ForwardAsync(node, client, _latency, UpstreamGateAsync);

    private async Task UpstreamGateAsync(int length, CancellationToken stopping)
    {
        if (Interlocked.Read(ref _upstreamBytes) >= Interlocked.Read(ref _holdAfterBytes) && !_released.Task.IsCompleted)
        {
            _holding.TrySetResult();
            await _released.Task.WaitAsync(stopping);
        }

        Interlocked.Add(ref _upstreamBytes, length);
    }
}
