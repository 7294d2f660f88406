using P2PTransfer.Common;
using P2PTransfer.Node;

namespace P2PTransfer.Tests.Support;

/// <summary>Real nodes on loopback with throw-away state directories; stops them all at the end of a test.</summary>
internal sealed class TestNodes : IAsyncDisposable
{
    private readonly List<P2PNode> _nodes = [];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "p2pt-tests", Guid.NewGuid().ToString("N"));

    public string Root => _root;

    /// <summary>Keep-alive timers short enough for a test: ping after 300 ms of quiet, drop 1.5 s after.</summary>
    public static void FastKeepAlive(NodeOptions options)
    {
        options.KeepAliveInterval = TimeSpan.FromMilliseconds(300);
        options.DeadAfter = TimeSpan.FromSeconds(1.5);
    }

    /// <summary>
    /// Keep-alive timers far beyond any wait of a test (ping after 20 s of quiet, drop after 60 s): a link that a test
    /// sees closed within half a minute was closed by something else than the keep-alive.
    /// </summary>
    public static void SlowKeepAlive(NodeOptions options)
    {
        options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        options.DeadAfter = TimeSpan.FromSeconds(60);
    }

    public async Task<P2PNode> StartAsync(string name, int host = 1, Action<NodeOptions>? configure = null)
    {
        var options = new NodeOptions
        {
            Name = name,
            ListenAddress = $"127.0.0.{host}",
            Port = 0,
            StateDirectory = Path.Combine(_root, name),
            DrainTimeout = TimeSpan.FromSeconds(5),

            // A test's topology is the links it makes: no links of the node's own making unless the test asks.
            TargetPeers = 0,

            // Each test's nodes have control sockets of their own, so tests running at once never share a name there.
            ControlDirectory = Path.Combine(_root, "ctl"),
        };
        configure?.Invoke(options);
        var node = await P2PNode.StartAsync(options);
        _nodes.Add(node);
        return node;
    }

    /// <summary>
    /// Starts a graceful stop while one piece of work is under way, and returns once the node says Closing:
    /// the window in which it must refuse newcomers. Dispose the work to let the stop finish.
    /// </summary>
    public static async Task<(WorkLease Work, Task Stopping)> BeginClosingAsync(P2PNode node, TimeSpan? drainTimeout = null)
    {
        Assert.True(node.Work.TryBegin(out var work));
        var stopping = node.StopAsync(drainTimeout);
        Assert.True(await Eventually.TrueAsync(() => node.Status == NodeStatus.Closing, TimeSpan.FromSeconds(10)));
        return (work, stopping);
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_nodes.Select(n => n.StopAsync(TimeSpan.Zero)));
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class Eventually
{
    /// <summary>Polls a condition until it holds or the time runs out (bounded: never loops forever).</summary>
    public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(20);
        }

        return condition();
    }
}
