using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using P2PTransfer.Client;
using P2PTransfer.Common;
using P2PTransfer.Node;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Node;

public class NodeLifecycleTests
{
    [Fact]
    public async Task A_subscriber_to_a_replaced_link_may_stop_the_node_from_another_thread_while_the_event_runs()
    {
        await using var nodes = new TestNodes();
        var first = await nodes.StartAsync("first");
        var second = await nodes.StartAsync("second");
        var (low, high) = DuplicateLinkRule.CompareIds(first.Id, second.Id) < 0 ? (first, second) : (second, first);
        await high.ConnectPeerAsync(low.Endpoint);
        Assert.True(await Eventually.TrueAsync(() => low.PeerCount == 1, TimeSpan.FromSeconds(10)));

        var stopCallReturned = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        low.PeerDisconnected += (_, _) =>
        {
            // The handler waits for a stop begun on another thread. Raised while the link registry holds its lock,
            // that stop would wait for the handler and the handler for the stop. 30 s only bounds the failing case.
            var stop = Task.Run(() => low.StopAsync(TimeSpan.Zero));
            stopCallReturned.TrySetResult(stop.Wait(TimeSpan.FromSeconds(30)));
        };

        // The lower id dials too: its own link replaces the one the other node dialed, which is retired with an
        // event; the dial itself is told the nodes were already linked.
        var dial = await Record.ExceptionAsync(() => low.ConnectPeerAsync(high.Endpoint));
        Assert.Equal(ProtocolError.DuplicateLink, Assert.IsType<P2PException>(dial).Code);

        Assert.True(await stopCallReturned.Task, "StopAsync, called while a PeerDisconnected handler ran, did not return");
        await low.StopAsync();
        Assert.Equal(NodeStatus.Stopped, low.Status);
    }

    [Fact]
    public async Task A_started_node_is_running_and_answers_a_client()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("solo");

        Assert.Equal(NodeStatus.Running, node.Status);
        Assert.StartsWith("127.0.0.1:", node.Endpoint);
        Assert.NotEqual(0, node.Port);

        await using var client = await NodeClient.ConnectAsync(node.Endpoint);
        Assert.Equal(node.Id, client.RemoteId);
        Assert.Equal("solo", client.RemoteName);
        var roundTrip = await client.PingAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(roundTrip, client.RoundTrip);
    }

    [Fact]
    public async Task The_node_id_is_stable_across_restarts_from_the_same_state_directory()
    {
        await using var nodes = new TestNodes();
        var first = await nodes.StartAsync("keeper");
        var id = first.Id;
        await first.StopAsync();

        var again = await nodes.StartAsync("keeper");
        Assert.Equal(id, again.Id);

        var other = await nodes.StartAsync("other");
        Assert.NotEqual(id, other.Id);
    }

    [Fact]
    public async Task An_advertised_host_that_makes_no_valid_endpoint_is_refused_at_start_and_releases_everything()
    {
        await using var nodes = new TestNodes();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => nodes.StartAsync("odd", configure: o => o.AdvertisedHost = "my host"));
        Assert.Contains("my host", error.Message);

        // The state directory is unlocked again: the same node starts with a host name peers accept.
        var node = await nodes.StartAsync("odd", configure: o => o.AdvertisedHost = "my-host.example");
        Assert.StartsWith("my-host.example:", node.Endpoint);
    }

    [Fact]
    public async Task Two_running_nodes_cannot_share_a_state_directory()
    {
        await using var nodes = new TestNodes();
        await nodes.StartAsync("twin");

        var error = await Assert.ThrowsAsync<P2PException>(() => nodes.StartAsync("twin"));
        Assert.Equal(ProtocolError.StateDirectoryInUse, error.Code);
        Assert.Contains("in use", error.Message);
    }

    [Fact]
    public async Task The_state_directory_name_is_the_default_node_name()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("ignored", configure: o => o.Name = null);
        Assert.Equal("ignored", node.Name);
    }

    [Theory]
    [InlineData("_node", "node")]
    [InlineData("__.-x_y", "x_y")]
    [InlineData("___", "node")]
    public async Task A_node_named_after_a_state_directory_that_starts_with_a_symbol_gets_a_node_name_and_accepts_clients(string folder, string expected)
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync(folder, configure: o => o.Name = null);
        Assert.Equal(expected, node.Name);

        await using var client = await NodeClient.ConnectAsync(node.Endpoint);
        Assert.Equal(expected, client.RemoteName);
    }

    [Fact]
    public async Task A_share_that_does_not_exist_is_refused_before_anything_listens()
    {
        await using var nodes = new TestNodes();
        var error = await Assert.ThrowsAsync<DirectoryNotFoundException>(() =>
            nodes.StartAsync("bad", configure: o => o.Index.Shares = [Path.Combine(nodes.Root, "missing")]));
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public async Task Stop_returns_only_when_the_port_is_released()
    {
        await using var nodes = new TestNodes();
        int port = FreePort();
        var node = await nodes.StartAsync("porter", configure: o => o.Port = port);
        await node.StopAsync();

        Assert.Equal(NodeStatus.Stopped, node.Status);
        var again = await nodes.StartAsync("porter2", configure: o => o.Port = port);
        Assert.Equal(port, again.Port);
    }

    [Fact]
    public async Task A_port_in_use_is_a_clear_error()
    {
        await using var nodes = new TestNodes();
        var first = await nodes.StartAsync("first");
        var error = await Assert.ThrowsAsync<P2PException>(() => nodes.StartAsync("second", configure: o => o.Port = first.Port));
        Assert.Contains($"cannot listen on 127.0.0.1:{first.Port}", error.Message);
    }

    [Fact]
    public async Task A_closing_node_answers_closing_to_new_connections_and_names_itself()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("busy");
        var (work, stopping) = await TestNodes.BeginClosingAsync(node);

        var error = await Assert.ThrowsAsync<NodeUnavailableException>(() => NodeClient.ConnectAsync(node.Endpoint));
        Assert.Equal(ProtocolError.NodeClosing, error.Code);
        Assert.Equal($"node busy ({node.Endpoint}) is shutting down", error.Message);
        Assert.Equal(1, node.Counters.RefusedClosing);
        Assert.False(node.Work.TryBegin(out _));

        work.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(NodeStatus.Stopped, node.Status);
    }

    [Fact]
    public async Task A_client_holding_a_connection_is_told_the_node_is_closing()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("holder");
        await using var client = await NodeClient.ConnectAsync(node.Endpoint);
        await client.PingAsync(TimeSpan.FromSeconds(5));

        var (work, stopping) = await TestNodes.BeginClosingAsync(node);
        Assert.True(await Eventually.TrueAsync(() => client.RemoteAvailability == NodeAvailability.Closing, TimeSpan.FromSeconds(5)));
        var error = await Assert.ThrowsAsync<NodeUnavailableException>(() => client.PingAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("holder", error.Message);
        Assert.Contains("is shutting down", error.Message);

        work.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(await Eventually.TrueAsync(() => client.Closed.IsCompleted, TimeSpan.FromSeconds(5)));
        Assert.Equal(ProtocolError.Shutdown, client.CloseReason);
    }

    [Fact]
    public async Task Nothing_new_begins_from_the_moment_the_node_says_it_is_closing()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("prompt");
        Assert.True(node.Work.TryBegin(out var work));
        // The stop is held where it tells listeners it is closing, before it announces it to peers and drains.
        using var held = new ManualResetEventSlim();
        node.StatusChanged += (_, e) =>
        {
            if (e.Status == NodeStatus.Closing)
            {
                held.Wait(TimeSpan.FromSeconds(10));
            }
        };

        var stopping = node.StopAsync(TimeSpan.FromSeconds(30));

        // A request that races the Closing announcement is refused too.
        Assert.Equal(NodeStatus.Closing, node.Status);
        Assert.False(node.Work.TryBegin(out _));
        held.Set();
        work.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Work_under_way_finishes_before_stop_returns()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("drainer");
        Assert.True(node.Work.TryBegin(out var work));

        var stopping = node.StopAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted);

        Assert.False(work.Cancellation.IsCancellationRequested);
        work.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(NodeStatus.Stopped, node.Status);
    }

    [Fact]
    public async Task Work_that_outlives_the_drain_timeout_is_cut_off()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("slowpoke");
        Assert.True(node.Work.TryBegin(out var work));

        var clock = Stopwatch.StartNew();
        await node.StopAsync(TimeSpan.FromMilliseconds(300)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(8));
        Assert.Equal(NodeStatus.Stopped, node.Status);
        Assert.True(work.Cancellation.IsCancellationRequested, "work past the drain timeout is cancelled");
        Assert.Contains(node.Log.Recent(), e => e.Level == NodeLogLevel.Warning && e.Message.Contains("drain timeout"));
    }

    [Fact]
    public async Task A_peer_dialing_a_closing_node_is_told_it_is_shutting_down()
    {
        await using var nodes = new TestNodes();
        var closing = await nodes.StartAsync("closing", host: 1);
        var dialer = await nodes.StartAsync("dialer", host: 2);
        var (work, stopping) = await TestNodes.BeginClosingAsync(closing);

        var error = await Assert.ThrowsAsync<NodeUnavailableException>(() => dialer.ConnectPeerAsync(closing.Endpoint));
        Assert.Equal(ProtocolError.NodeClosing, error.Code);
        Assert.Equal($"node closing ({closing.Endpoint}) is shutting down", error.Message);
        Assert.Empty(dialer.GetPeers());

        work.Dispose();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Stop_can_be_called_twice()
    {
        await using var nodes = new TestNodes();
        var node = await nodes.StartAsync("twice");
        await Task.WhenAll(node.StopAsync(), node.StopAsync());
        await node.StopAsync();
        Assert.Equal(NodeStatus.Stopped, node.Status);
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
