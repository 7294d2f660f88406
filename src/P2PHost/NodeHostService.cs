using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using P2PTransfer.Common;
using P2PTransfer.Node;

namespace P2PTransfer.Host;

/// <summary>
/// The node as the host's one service: started with the host, stopped gracefully when the host stops (SIGTERM,
/// SIGINT, a Windows service stop). Its log goes to the host's console (the journal under systemd).
/// </summary>
internal sealed class NodeHostService(NodeOptions options, ILogger<NodeHostService> logger, IHostApplicationLifetime lifetime) : IHostedService
{
    /// <summary>What a stop may take beyond the drain: goodbyes to peers, the listener's release, the index's close.</summary>
    public static readonly TimeSpan StopMargin = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stopping = new();
    private P2PNode? _node;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var node = await P2PNode.StartAsync(options, cancellationToken).ConfigureAwait(false);
        _node = node;
        node.Log.Written += Relay;
        node.StatusChanged += (_, change) =>
        {
            // Stopped from inside (nothing does so today): the host ends with it rather than serve nothing.
            if (change.Status == NodeStatus.Stopped && !_stopping.IsCancellationRequested)
            {
                lifetime.StopApplication();
            }
        };
        logger.LogInformation("node {Name} ({Id}) is serving on {Endpoint} from {StateDirectory}, sharing {Shares}",
            node.Name, node.Id, node.Endpoint, node.StateDirectory, node.Shares.Count == 0 ? "nothing" : string.Join(", ", node.Shares));
        _ = ReportIndexedAsync(node);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        if (_node is { } node)
        {
            logger.LogInformation("stopping node {Name}: draining for up to {Seconds} s", node.Name, options.DrainTimeout.TotalSeconds);
            await node.StopAsync().ConfigureAwait(false);
            logger.LogInformation("node {Name} stopped; port {Port} is free", node.Name, node.Port);
        }
    }

    /// <summary>Says once when everything shared at start is hashed and searchable.</summary>
    private async Task ReportIndexedAsync(P2PNode node)
    {
        try
        {
            await node.Index.WaitHashedAsync(node.Shares, _stopping.Token).ConfigureAwait(false);
            logger.LogInformation("shares indexed: {Progress}", node.IndexProgress);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Relay(object? sender, NodeLogEntry entry)
    {
        var level = entry.Level switch
        {
            NodeLogLevel.Warning => LogLevel.Warning,
            NodeLogLevel.Error => LogLevel.Error,
            NodeLogLevel.Information => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        logger.Log(level, "{Message}", entry.Message);
    }
}
