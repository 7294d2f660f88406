using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using P2PTransfer.Common;
using P2PTransfer.Control;
using P2PTransfer.Index;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>
/// A node of this user running in another process (another session, a service), reached through its control
/// channel. Its properties are a snapshot taken when it was found; its operations go to the node each time and return
/// the same objects a node of this session returns.
/// </summary>
public sealed class RemoteNode : IManagedNode
{
    /// <summary>How long finding a node waits for it to say who it is.</summary>
    public static readonly TimeSpan DescribeTimeout = TimeSpan.FromSeconds(5);

    private readonly string _address;

    private RemoteNode(string address, JsonObject described)
    {
        _address = address;
        Id = Guid.Parse((string)described["id"]!);
        Name = (string)described["name"]!;
        Endpoint = (string)described["endpoint"]!;
        ListenAddress = (string?)described["listenAddress"] ?? string.Empty;
        Port = (int?)described["port"] ?? 0;
        Status = Enum.TryParse<NodeStatus>((string?)described["status"], out var status) ? status : NodeStatus.Running;
        PeerCount = (int?)described["peerCount"] ?? 0;
        ConnectionCount = (int?)described["connectionCount"] ?? 0;
        Shares = described["shares"] is JsonArray shares ? [.. shares.Select(s => (string)s!)] : [];
        IndexProgress = described["indexProgress"] is { } progress ? ControlJson.Item<IndexProgress>(progress) : new IndexProgress(0, 0, 0, 0, 0);
        StateDirectory = (string?)described["stateDirectory"] ?? string.Empty;
        StartedAt = (DateTimeOffset?)described["startedAt"] ?? default;
        MaxUploads = (int?)described["maxUploads"] ?? 0;
        ProcessId = (int?)described["processId"] ?? 0;
    }

    public Guid Id { get; }

    public string Name { get; }

    public string Endpoint { get; }

    public string ListenAddress { get; }

    public int Port { get; }

    /// <summary>When the snapshot was taken (Stopped once stopped from here).</summary>
    public NodeStatus Status { get; private set; }

    public int PeerCount { get; }

    public int ConnectionCount { get; }

    public IReadOnlyList<string> Shares { get; }

    public IndexProgress IndexProgress { get; }

    public string StateDirectory { get; }

    public DateTimeOffset StartedAt { get; }

    public int MaxUploads { get; }

    /// <summary>The process the node runs in.</summary>
    public int ProcessId { get; }

    /// <summary>Where its control channel is: the socket's path (the pipe's name on Windows).</summary>
    public string ControlAddress => _address;

    NodeLog? IManagedNode.Log => null;

    object IManagedNode.Shown => this;

    /// <summary>The running nodes of this user in other processes, found in the control folder (the default one unless given).</summary>
    public static async Task<IReadOnlyList<RemoteNode>> GetRunningAsync(string? controlDirectory = null, CancellationToken cancellationToken = default)
    {
        var found = await Task.WhenAll(ControlDirectory.List(controlDirectory ?? ControlDirectory.Default).Select(async entry =>
        {
            try
            {
                return await DescribeAsync(entry.Address, entry.NodeName, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is P2PException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException or FormatException or TimeoutException)
            {
                // A socket left by a crashed node, a hung node, or one that is not ours to manage: not a node to list.
                return null;
            }
        })).ConfigureAwait(false);
        return [.. found.OfType<RemoteNode>()];
    }

    /// <summary>The names in the control folder, without asking the nodes (for tab completion).</summary>
    public static IReadOnlyList<string> GetNames(string? controlDirectory = null) =>
        [.. ControlDirectory.List(controlDirectory ?? ControlDirectory.Default).Select(entry => entry.NodeName)];

    /// <summary>The node with this name, running in another process of this user.</summary>
    public static Task<RemoteNode> ConnectAsync(string name, string? controlDirectory = null, CancellationToken cancellationToken = default) =>
        !WireRules.IsNodeName(name) ? throw new ArgumentException($"'{name}' is not a node name") : DescribeAsync(ControlDirectory.AddressOf(controlDirectory ?? ControlDirectory.Default, name), name, cancellationToken);

    public async Task<IReadOnlyList<P2PPeer>> GetPeersAsync(CancellationToken cancellationToken = default)
    {
        var peers = new List<P2PPeer>();
        await foreach (var item in ItemsAsync(new JsonObject { ["op"] = "peers" }, cancellationToken).ConfigureAwait(false))
        {
            peers.Add(ControlJson.PeerFrom(item, this));
        }

        return peers;
    }

    public async Task<P2PPeer> ConnectPeerAsync(string address, CancellationToken cancellationToken = default) =>
        ControlJson.PeerFrom(await RequestAsync(new JsonObject { ["op"] = "connect", ["address"] = address }, cancellationToken).ConfigureAwait(false), this);

    public async Task<bool> DisconnectPeerAsync(Guid nodeId) =>
        (bool?)(await RequestAsync(new JsonObject { ["op"] = "disconnect", ["nodeId"] = nodeId.ToString() }, default).ConfigureAwait(false))?["disconnected"] ?? false;

    public Task PublishAsync(IReadOnlyList<string> paths, bool waitHashed, CancellationToken cancellationToken = default) =>
        RequestAsync(new JsonObject { ["op"] = "publish", ["paths"] = Strings(paths), ["wait"] = waitHashed }, cancellationToken);

    public Task UnpublishAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default) =>
        RequestAsync(new JsonObject { ["op"] = "unpublish", ["paths"] = Strings(paths) }, cancellationToken);

    public IAsyncEnumerable<SharedFile> GetFilesAsync(string name, CancellationToken cancellationToken = default) =>
        ItemsAsync<SharedFile>(new JsonObject { ["op"] = "files", ["name"] = name }, cancellationToken);

    public IAsyncEnumerable<SharedFile> GetFilesBelowAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default) =>
        ItemsAsync<SharedFile>(new JsonObject { ["op"] = "filesBelow", ["paths"] = Strings(paths) }, cancellationToken);

    public IAsyncEnumerable<P2PSearchResult> SearchAsync(FileQuery query, SearchOptions options, bool localOnly, CancellationToken cancellationToken = default) =>
        ItemsAsync<P2PSearchResult>(ControlJson.Search(query, options, localOnly), cancellationToken);

    /// <summary>Stops the node (its process decides whether to end with it; one started with -Wait does) and returns once it has stopped.</summary>
    public async Task StopAsync(TimeSpan? drainTimeout = null)
    {
        var request = new JsonObject { ["op"] = "stop" };
        if (drainTimeout is { } drain)
        {
            request["drainMs"] = drain.TotalMilliseconds;
        }

        await RequestAsync(request, default).ConfigureAwait(false);
        Status = NodeStatus.Stopped;
    }

    public override string ToString() => $"{Name} ({Endpoint})";

    /// <summary>Asks a node who it is; a node that does not answer within <see cref="DescribeTimeout"/> (a hung process) is a <see cref="TimeoutException"/>.</summary>
    private static async Task<RemoteNode> DescribeAsync(string address, string name, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DescribeTimeout);
        JsonNode? described;
        try
        {
            described = await ControlClient.RequestAsync(address, name, new JsonObject { ["op"] = "describe" }, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"node {name} did not answer on its control channel within {DescribeTimeout.TotalSeconds} s");
        }

        return new RemoteNode(address, described as JsonObject ?? throw new InvalidDataException($"node {name} described itself with no object"));
    }

    private static JsonArray Strings(IReadOnlyList<string> values) => new([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);

    private Task<JsonNode?> RequestAsync(JsonObject request, CancellationToken cancellationToken) =>
        ControlClient.RequestAsync(_address, Name, request, cancellationToken);

    private async IAsyncEnumerable<JsonNode?> ItemsAsync(JsonObject request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var reply in ControlClient.CallAsync(_address, Name, request, cancellationToken).ConfigureAwait(false))
        {
            if (!reply.IsResult)
            {
                yield return reply.Value;
            }
        }
    }

    private async IAsyncEnumerable<T> ItemsAsync<T>(JsonObject request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in ItemsAsync(request, cancellationToken).ConfigureAwait(false))
        {
            yield return ControlJson.Item<T>(item);
        }
    }
}
