using System.Net.Sockets;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// Forwards one TCP connection on loopback to a node, holding every chunk for a fixed time in each direction:
/// a slow network path, so that tests can order events the way a real network sometimes does.
/// </summary>
public sealed class LatencyProxy : OneConnectionProxy
{
    private readonly TimeSpan _latency;
    private volatile bool _holdingUpstream;

    public LatencyProxy(string host, string upstream, TimeSpan latency)
        : base(host)
    {
        _latency = latency;
        Start(upstream);
    }

    /// <summary>From now on what the upstream sends is held, never passed on: it stays on the way however slow the test is.</summary>
    public void HoldUpstream() => _holdingUpstream = true;

    protected override Task ClientToNodeAsync(Socket client, Socket node) => ForwardAsync(client, node, _latency);

    protected override Task NodeToClientAsync(Socket node, Socket client) => ForwardAsync(node, client, _latency, () => _holdingUpstream);
}
