using System.Text.Json;
using P2PTransfer.Common;

namespace P2PTransfer.Peers;

/// <summary>
/// The nodes this node knows how to reach, kept in its state directory (hosts.json) so that links come back after a
/// restart: -Peer endpoints, every node it was linked to, and nodes its peers told it of. Bounded: learned hosts
/// that were never linked go first. Says which hosts are due for a dial: not linked, and past their backoff
/// (nothing after a success, then 5 s doubled with each failure up to an hour). Thread-safe.
/// </summary>
internal sealed class HostCache(string? file, NodeLog log, int capacity = HostCache.DefaultCapacity, TimeProvider? clock = null)
{
    public const int DefaultCapacity = 1000;
    public const string FileName = "hosts.json";
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromHours(1);
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly object _gate = new();
    private readonly Dictionary<string, KnownHost> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _dialing = new(StringComparer.OrdinalIgnoreCase);
    private bool _dirty;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _hosts.Count;
            }
        }
    }

    /// <summary>Reads the cache kept in <paramref name="directory"/>; a missing file is an empty cache, a damaged one is logged and started afresh.</summary>
    public static HostCache Load(string directory, NodeLog log, int capacity = DefaultCapacity, TimeProvider? clock = null)
    {
        var file = Path.Combine(directory, FileName);
        var cache = new HostCache(file, log, capacity, clock);
        if (!File.Exists(file))
        {
            return cache;
        }

        try
        {
            foreach (var host in JsonSerializer.Deserialize<List<KnownHost>>(File.ReadAllText(file)) ?? [])
            {
                if (Protocol.WireRules.IsEndpoint(host.Endpoint))
                {
                    cache._hosts[host.Endpoint] = host;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or NotSupportedException)
        {
            log.Write(NodeLogLevel.Warning, $"the host cache '{file}' could not be read ({ex.Message}); starting with an empty one");
        }

        cache.Trim();
        return cache;
    }

    public IReadOnlyList<KnownHost> Snapshot()
    {
        lock (_gate)
        {
            return [.. _hosts.Values];
        }
    }

    /// <summary>A -Peer endpoint: kept linked from now on.</summary>
    public void AddConfigured(string endpoint) =>
        Change(endpoint, host => host is null ? new KnownHost(endpoint, Guid.Empty, true, null, null, 0) : host with { Configured = true });

    /// <summary>
    /// A link to <paramref name="nodeId"/> at <paramref name="endpoint"/> came into use: its failures are forgotten.
    /// For a link the node dialed (<paramref name="dialed"/>) the node was reached there; for one it took, the
    /// endpoint is only what the node claims, so it never takes over an entry of another node or a -Peer entry.
    /// </summary>
    public void Linked(string endpoint, Guid nodeId, bool dialed = true)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            if (!dialed && _hosts.TryGetValue(endpoint, out var present) && (present.Configured || (present.NodeId != Guid.Empty && present.NodeId != nodeId)))
            {
                return;
            }

            // A node that now answers at another endpoint (a restart on another port) is one host, not two; a -Peer
            // entry keeps its own endpoint, which may be a name that resolves to the advertised address.
            foreach (var stale in _hosts.Values.Where(h => h.NodeId == nodeId && !h.Configured && !string.Equals(h.Endpoint, endpoint, StringComparison.OrdinalIgnoreCase)).ToList())
            {
                _hosts.Remove(stale.Endpoint);
            }

            ChangeLocked(endpoint, host => (host ?? new KnownHost(endpoint, nodeId, false, null, null, 0)) with { NodeId = nodeId, LastLinked = now, Failures = 0 });
        }
    }

    /// <summary>A dial of <paramref name="endpoint"/> reached <paramref name="nodeId"/> (for -Peer entries, whose id is not known before).</summary>
    public void Reached(string endpoint, Guid nodeId) =>
        Change(endpoint, host => host is null ? null : host with { NodeId = nodeId, LastLinked = _clock.GetUtcNow(), Failures = 0 });

    /// <summary>A node a peer told of: added if not known, never replacing what this node learned itself.</summary>
    public void Learned(string endpoint, Guid nodeId)
    {
        // A host name from a peer is never looked up (as for direct delivery): only addresses are learned.
        if (!IsAddressLiteral(endpoint))
        {
            return;
        }

        lock (_gate)
        {
            if (_hosts.ContainsKey(endpoint) || _hosts.Values.Any(h => h.NodeId == nodeId))
            {
                return;
            }

            _hosts[endpoint] = new KnownHost(endpoint, nodeId, false, null, null, 0);
            _dirty = true;
            Trim();
        }
    }

    /// <summary>A link was ended on purpose (Disconnect-P2PPeer on either side): the node is not dialed again unless someone links to it anew.</summary>
    public void Forget(Guid nodeId)
    {
        lock (_gate)
        {
            foreach (var host in _hosts.Values.Where(h => h.NodeId == nodeId).ToList())
            {
                _hosts.Remove(host.Endpoint);
                _dirty = true;
            }
        }
    }

    /// <summary>A dial of <paramref name="endpoint"/> begins: it is not due again until <see cref="EndDial"/>, so two dials of one host never overlap.</summary>
    public bool BeginDial(string endpoint)
    {
        lock (_gate)
        {
            if (!_dialing.Add(endpoint))
            {
                return false;
            }
        }

        Change(endpoint, host => host is null ? null : host with { LastTried = _clock.GetUtcNow() });
        return true;
    }

    /// <summary>The dial begun by <see cref="BeginDial"/> ended; a failure counts toward the host's backoff.</summary>
    public void EndDial(string endpoint, bool failed)
    {
        lock (_gate)
        {
            _dialing.Remove(endpoint);
        }

        if (failed)
        {
            Change(endpoint, host => host is null ? null : host with { Failures = host.Failures + 1 });
        }
    }

    /// <summary>
    /// Hosts to dial now: not linked (<paramref name="isLinked"/>) and past their backoff. Every configured one, then
    /// up to <paramref name="others"/> more: those linked most recently first, then those learned from peers.
    /// </summary>
    public IReadOnlyList<KnownHost> Due(Func<Guid, bool> isLinked, int others)
    {
        var now = _clock.GetUtcNow();
        lock (_gate)
        {
            var due = _hosts.Values.Where(h => !_dialing.Contains(h.Endpoint) && !(h.NodeId != Guid.Empty && isLinked(h.NodeId)) && (h.LastTried is not { } tried || now - tried >= Backoff(h.Failures))).ToList();
            var configured = due.Where(h => h.Configured);
            var rest = due.Where(h => !h.Configured)
                .OrderByDescending(h => h.LastLinked ?? DateTimeOffset.MinValue)
                .ThenBy(h => h.Failures)
                .Take(Math.Max(0, others));
            return [.. configured, .. rest];
        }
    }

    /// <summary>Hosts to tell a peer of: those this node was linked to most recently.</summary>
    public IReadOnlyList<KnownHost> Recent(int max)
    {
        lock (_gate)
        {
            return [.. _hosts.Values.Where(h => h.NodeId != Guid.Empty && h.LastLinked is not null).OrderByDescending(h => h.LastLinked).Take(max)];
        }
    }

    /// <summary>Writes the cache if it changed: beside and renamed, so a crash never leaves half a file.</summary>
    public void Save()
    {
        if (file is null)
        {
            return;
        }

        List<KnownHost> hosts;
        lock (_gate)
        {
            if (!_dirty)
            {
                return;
            }

            hosts = [.. _hosts.Values];
            _dirty = false;
        }

        try
        {
            var temporary = file + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(hosts, Json));
            File.Move(temporary, file, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.Write(NodeLogLevel.Warning, $"the host cache '{file}' could not be written: {ex.Message}");
        }
    }

    private static bool IsAddressLiteral(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        var host = colon > 0 ? endpoint[..colon].Trim('[', ']') : endpoint;
        return System.Net.IPAddress.TryParse(host, out _);
    }

    private static TimeSpan Backoff(int failures) =>
        failures <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Min(FirstBackoff.Ticks << Math.Min(failures - 1, 20), MaxBackoff.Ticks));

    private void Change(string endpoint, Func<KnownHost?, KnownHost?> change)
    {
        lock (_gate)
        {
            ChangeLocked(endpoint, change);
        }
    }

    private void ChangeLocked(string endpoint, Func<KnownHost?, KnownHost?> change)
    {
        _hosts.TryGetValue(endpoint, out var host);
        if (change(host) is { } changed && changed != host)
        {
            _hosts[endpoint] = changed;
            _dirty = true;
            Trim();
        }
    }

    // Over capacity, hosts learned from peers and never linked go first, then those linked longest ago; configured ones stay.
    private void Trim()
    {
        if (_hosts.Count <= capacity)
        {
            return;
        }

        var victims = _hosts.Values.Where(h => !h.Configured)
            .OrderBy(h => h.LastLinked is null ? 0 : 1)
            .ThenBy(h => h.LastLinked ?? DateTimeOffset.MinValue)
            .Take(_hosts.Count - capacity)
            .ToList();
        victims.ForEach(h => _hosts.Remove(h.Endpoint));
        _dirty = true;
    }
}
