using System.Collections.Concurrent;
using System.Net;
using P2PTransfer.Client;
using P2PTransfer.Net;
using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// One connection per source server, shared by every file a command downloads from it (a thousand small files
/// from one server go over one connection, requests pipelined). A server that cannot be reached is not dialed
/// again for a few seconds, so the files waiting on it fail fast instead of each waiting for a timeout.
/// </summary>
/// <remarks>
/// A source is an address, normalised (<see cref="Normalise"/>: every spelling of one address and port is one
/// connection), and, when a search result named it, the node expected there (<see cref="Key"/>). The node that
/// answers at an address must be the one expected, or that source is refused; sources naming other nodes at the
/// same address share its one connection and are judged the same way.
/// </remarks>
internal sealed class SourcePool : IAsyncDisposable
{
    private static readonly TimeSpan RememberFailure = TimeSpan.FromSeconds(5);
    private const string NodeMark = " as node ";
    private readonly ConcurrentDictionary<string, (Task<NodeClient> Client, long At)> _clients = new(StringComparer.Ordinal);
    private readonly CancellationToken _stop;
    private readonly byte[]? _networkKey;

    public SourcePool(CancellationToken stop, byte[]? networkKey = null)
    {
        _stop = stop;
        _networkKey = networkKey;
    }

    /// <summary>
    /// One spelling of an address: an IP address as .NET writes it (no leading zeros, IPv4-mapped IPv6 as IPv4), a
    /// host name lower-cased without a final dot, and the port in decimal. <see cref="FormatException"/> when it is none.
    /// </summary>
    public static string Normalise(string endpoint)
    {
        var (host, port) = NetworkAddress.Parse(endpoint, ProtocolLimits.DefaultPort);
        if (IPAddress.TryParse(host, out var address))
        {
            if (address.IsIPv4MappedToIPv6)
            {
                address = address.MapToIPv4();
            }

            // A scope (zone) is kept: fe80::1%2 and fe80::1%3 are different places.
            return NetworkAddress.Format(address.ToString(), port);
        }

        return NetworkAddress.Format(host.TrimEnd('.').ToLowerInvariant(), port);
    }

    /// <summary>The source's name in a download: its normalised address, and the node expected there when known.</summary>
    public static string Key(string endpoint, Guid? nodeId) =>
        nodeId is { } id && id != Guid.Empty ? Normalise(endpoint) + NodeMark + id.ToString("D") : Normalise(endpoint);

    /// <summary>The address and the expected node of a source named by <see cref="Key"/>.</summary>
    public static (string Address, Guid? NodeId) Parse(string key)
    {
        int mark = key.IndexOf(NodeMark, StringComparison.Ordinal);
        return mark < 0 ? (key, null) : (key[..mark], Guid.Parse(key[(mark + NodeMark.Length)..]));
    }

    public async Task<NodeClient> GetAsync(string source, CancellationToken cancellationToken)
    {
        var (endpoint, expected) = Parse(source);
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

            var connected = await client.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (expected is { } id && connected.RemoteId != id)
            {
                // A result cannot send a downloader to a third party under another node's name.
                throw new P2PException(ProtocolError.ConnectionLost, $"{endpoint} answers as node {connected.RemoteName} ({connected.RemoteId}), not node {id} that the search result named; not downloading from it");
            }

            return connected;
        }
    }

    /// <summary>Closes a source's connection (it stalled): the requests waiting on it fail at once, and the next use dials again.</summary>
    public async Task DropAsync(string source, NodeClient client)
    {
        var endpoint = Parse(source).Address;
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
