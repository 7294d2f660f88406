using System.Collections.Concurrent;
using P2PTransfer.Client;

namespace P2PTransfer.Transfer;

/// <summary>
/// One connection per source server, shared by every file a command downloads from it (a thousand small files
/// from one server go over one connection, requests pipelined). A server that cannot be reached is not dialed
/// again for a few seconds, so the files waiting on it fail fast instead of each waiting for a timeout.
/// </summary>
internal sealed class SourcePool : IAsyncDisposable
{
    private static readonly TimeSpan RememberFailure = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (Task<NodeClient> Client, long At)> _clients = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationToken _stop;
    private readonly byte[]? _networkKey;

    public SourcePool(CancellationToken stop, byte[]? networkKey = null)
    {
        _stop = stop;
        _networkKey = networkKey;
    }

    public async Task<NodeClient> GetAsync(string endpoint, CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = Environment.TickCount64;
            var entry = _clients.GetOrAdd(endpoint, e => (NodeClient.ConnectAsync(e, _networkKey, cancellationToken: _stop), now));
            var client = entry.Client;
            if (client.IsCompletedSuccessfully && client.Result.IsClosing)
            {
                // The connection has gone: dial again.
                _clients.TryRemove(new KeyValuePair<string, (Task<NodeClient>, long)>(endpoint, entry));
                continue;
            }

            if (client.IsFaulted && now - entry.At > RememberFailure.TotalMilliseconds)
            {
                _clients.TryRemove(new KeyValuePair<string, (Task<NodeClient>, long)>(endpoint, entry));
                continue;
            }

            return await client.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes a source's connection (it stalled): the requests waiting on it fail at once, and the next use dials again.</summary>
    public async Task DropAsync(string endpoint, NodeClient client)
    {
        if (_clients.TryGetValue(endpoint, out var entry) && entry.Client.IsCompletedSuccessfully && entry.Client.Result == client)
        {
            _clients.TryRemove(new KeyValuePair<string, (Task<NodeClient>, long)>(endpoint, entry));
        }

        await client.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var entry in _clients.Values)
        {
            try
            {
                var client = await entry.Client.ConfigureAwait(false);
                await client.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is Protocol.P2PException or OperationCanceledException or System.Net.Sockets.SocketException or ArgumentException)
            {
                // It never connected: nothing to close.
            }
        }

        _clients.Clear();
    }
}
