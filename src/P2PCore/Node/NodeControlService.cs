using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using P2PTransfer.Control;
using P2PTransfer.Index;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>
/// A node's side of its control channel: each request (docs/control.md) becomes a call on the node's
/// <see cref="IManagedNode"/>, the same calls the cmdlets make in-process, and its objects go back as JSON.
/// </summary>
internal sealed class NodeControlService(P2PNode node)
{
    public async Task<JsonNode?> HandleAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        var managed = node.Managed;
        switch (request.Op)
        {
            case "describe":
                return ControlJson.Describe(node);
            case "peers":
                foreach (var peer in await managed.GetPeersAsync(cancellationToken).ConfigureAwait(false))
                {
                    await request.WriteItemAsync(ControlJson.ToJson(peer)).ConfigureAwait(false);
                }

                return null;
            case "connect":
                return ControlJson.ToJson(await managed.ConnectPeerAsync(request.String("address"), cancellationToken).ConfigureAwait(false));
            case "disconnect":
                var id = Guid.TryParse(request.String("nodeId"), out var parsed) ? parsed : throw new ControlProtocolException("request 'disconnect' needs a node id");
                return new JsonObject { ["disconnected"] = await managed.DisconnectPeerAsync(id).ConfigureAwait(false) };
            case "publish":
                await managed.PublishAsync(request.Strings("paths"), request.Body["wait"] is JsonValue w && w.TryGetValue<bool>(out var wait) && wait, cancellationToken).ConfigureAwait(false);
                return null;
            case "unpublish":
                await managed.UnpublishAsync(request.Strings("paths"), cancellationToken).ConfigureAwait(false);
                return null;
            case "files":
                await WriteAllAsync(request, managed.GetFilesAsync(request.String("name"), cancellationToken)).ConfigureAwait(false);
                return null;
            case "filesBelow":
                await WriteAllAsync(request, managed.GetFilesBelowAsync(request.Strings("paths"), cancellationToken)).ConfigureAwait(false);
                return null;
            case "search":
                var (query, options, localOnly) = ControlJson.SearchFrom(request);
                await WriteAllAsync(request, managed.SearchAsync(query, options, localOnly, cancellationToken)).ConfigureAwait(false);
                return null;
            case "stop":
                TimeSpan? drain = request.Body["drainMs"] is JsonValue d && d.TryGetValue<double>(out var ms) ? TimeSpan.FromMilliseconds(ms) : null;
                var stopping = managed.StopAsync(drain);
                // The node stops its channel last: the answer goes out then, once everything else has stopped.
                await Task.WhenAny(stopping, request.ServerStopping).ConfigureAwait(false);
                if (stopping.IsFaulted)
                {
                    await stopping.ConfigureAwait(false);
                }

                return new JsonObject { ["status"] = nameof(NodeStatus.Stopped) };
            default:
                throw new ControlProtocolException($"unknown request '{request.Op}'");
        }
    }

    private static async Task WriteAllAsync<T>(ControlRequest request, IAsyncEnumerable<T> items)
    {
        await foreach (var item in items.ConfigureAwait(false))
        {
            await request.WriteItemAsync(JsonSerializer.SerializeToNode(item, ControlJson.Options)!).ConfigureAwait(false);
        }
    }
}

/// <summary>The JSON forms of what travels on the control channel, both ways.</summary>
internal static class ControlJson
{
    public static readonly JsonSerializerOptions Options = new() { Converters = { new JsonStringEnumConverter() } };

    public static JsonObject Describe(P2PNode node) => new()
    {
        ["id"] = node.Id.ToString(),
        ["name"] = node.Name,
        ["endpoint"] = node.Endpoint,
        ["listenAddress"] = node.ListenAddress,
        ["port"] = node.Port,
        ["status"] = node.Status.ToString(),
        ["peerCount"] = node.PeerCount,
        ["connectionCount"] = node.ConnectionCount,
        ["shares"] = new JsonArray([.. node.Shares.Select(s => (JsonNode?)JsonValue.Create(s))]),
        ["indexProgress"] = JsonSerializer.SerializeToNode(node.IndexProgress, Options),
        ["stateDirectory"] = node.StateDirectory,
        ["startedAt"] = node.StartedAt,
        ["maxUploads"] = node.MaxUploads,
        ["processId"] = Environment.ProcessId,
    };

    public static JsonObject ToJson(P2PPeer peer) => new()
    {
        ["nodeId"] = peer.NodeId.ToString(),
        ["name"] = peer.Name,
        ["endpoint"] = peer.Endpoint,
        ["remoteAddress"] = peer.RemoteAddress,
        ["direction"] = peer.Direction.ToString(),
        ["state"] = peer.State.ToString(),
        ["since"] = peer.Since,
        ["roundTripMs"] = peer.RoundTripMs,
        ["bytesSent"] = peer.BytesSent,
        ["bytesReceived"] = peer.BytesReceived,
        ["framesSent"] = peer.FramesSent,
        ["framesReceived"] = peer.FramesReceived,
    };

    public static P2PPeer PeerFrom(JsonNode? json, IPeerHost localNode)
    {
        var o = json as JsonObject ?? throw new InvalidDataException("a peer in a control reply is not an object");
        return new P2PPeer(
            Guid.Parse((string)o["nodeId"]!), (string)o["name"]!, (string)o["endpoint"]!, (string)o["remoteAddress"]!,
            Enum.Parse<PeerDirection>((string)o["direction"]!), Enum.Parse<PeerState>((string)o["state"]!), (DateTimeOffset)o["since"]!,
            (double?)o["roundTripMs"], (long)o["bytesSent"]!, (long)o["bytesReceived"]!, (long)o["framesSent"]!, (long)o["framesReceived"]!, localNode);
    }

    public static T Item<T>(JsonNode? json) =>
        json.Deserialize<T>(Options) ?? throw new InvalidDataException($"an empty {typeof(T).Name} in a control reply");

    public static JsonObject Search(FileQuery query, SearchOptions options, bool localOnly) => new()
    {
        ["op"] = "search",
        ["query"] = JsonSerializer.SerializeToNode(query, Options),
        ["ttl"] = options.Ttl,
        ["timeoutMs"] = options.Timeout.TotalMilliseconds,
        ["maxResults"] = options.MaxResults,
        ["localOnly"] = localOnly,
    };

    public static (FileQuery Query, SearchOptions Options, bool LocalOnly) SearchFrom(ControlRequest request)
    {
        FileQuery query;
        try
        {
            query = request.Body["query"].Deserialize<FileQuery>(Options) ?? throw new ControlProtocolException("request 'search' needs a query");
        }
        catch (JsonException ex)
        {
            throw new ControlProtocolException($"request 'search' has a bad query: {ex.Message}");
        }

        var b = request.Body;
        var options = new SearchOptions
        {
            Ttl = b["ttl"] is JsonValue t && t.TryGetValue<int>(out var ttl) ? ttl : SearchLimits.DefaultTtl,
            Timeout = b["timeoutMs"] is JsonValue m && m.TryGetValue<double>(out var ms) ? TimeSpan.FromMilliseconds(Math.Clamp(ms, 0, SearchLimits.MaxTimeout.TotalMilliseconds)) : SearchLimits.DefaultTimeout,
            MaxResults = b["maxResults"] is JsonValue r && r.TryGetValue<int>(out var max) && max > 0 ? max : int.MaxValue,
        };
        return (query, options, b["localOnly"] is JsonValue l && l.TryGetValue<bool>(out var local) && local);
    }
}
