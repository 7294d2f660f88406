namespace P2PTransfer.Protocol;

/// <summary>
/// The servers a request passed, the entry server at the bottom. Every server pushes itself before cascading;
/// responses travel back down the stack, each server popping itself, and the bottom entry is where a response is
/// delivered directly when a hop on the way back is gone. Immutable: each server routes with its own copy.
/// </summary>
internal sealed class BacktraceStack
{
    /// <summary>Entries a stack may hold on the wire; more is a malformed frame.</summary>
    public const int MaxDepth = 16;

    private readonly RouteHop[] _hops;

    public BacktraceStack(IReadOnlyList<RouteHop> hops)
    {
        if (hops.Count is 0 or > MaxDepth)
        {
            throw new ArgumentException($"a backtrace stack holds 1 to {MaxDepth} servers, not {hops.Count}");
        }

        _hops = [.. hops];
    }

    /// <summary>Servers on the stack; also the number of links the request travelled from the entry server.</summary>
    public int Count => _hops.Length;

    /// <summary>The entry server: the one the client talks to, which gathers the responses.</summary>
    public RouteHop Entry => _hops[0];

    /// <summary>The last server pushed: the one that sent the request on.</summary>
    public RouteHop Top => _hops[^1];

    public RouteHop this[int index] => _hops[index];

    public IReadOnlyList<RouteHop> Hops => _hops;

    public static BacktraceStack Start(RouteHop entry) => new([entry]);

    public BacktraceStack Push(RouteHop hop) => new([.. _hops, hop]);

    public bool Contains(Guid nodeId) => Array.Exists(_hops, h => h.NodeId == nodeId);

    /// <summary>True when no server appears twice: a stack that loops was forged or corrupted.</summary>
    public bool HasDistinctServers() => _hops.Select(h => h.NodeId).Distinct().Count() == _hops.Length;

    internal int WireLength => 1 + _hops.Sum(h => 16 + PayloadWriter.StringLength(h.Endpoint));

    internal void Write(ref PayloadWriter writer)
    {
        writer.WriteByte((byte)_hops.Length);
        foreach (var hop in _hops)
        {
            writer.WriteGuid(hop.NodeId);
            writer.WriteString(hop.Endpoint);
        }
    }

    internal static BacktraceStack Read(ref PayloadReader reader)
    {
        int count = reader.ReadByte();
        if (count is 0 or > MaxDepth)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"a backtrace stack holds 1 to {MaxDepth} servers, not {count}");
        }

        var hops = new RouteHop[count];
        for (int i = 0; i < count; i++)
        {
            var nodeId = reader.ReadGuid();
            if (nodeId == Guid.Empty)
            {
                throw new ProtocolException(ProtocolError.MalformedFrame, $"backtrace entry {i} has a zero node id: a server always has one");
            }

            var endpoint = reader.ReadString(ProtocolLimits.MaxEndpointBytes, "backtrace endpoint");
            if (!WireRules.IsEndpoint(endpoint))
            {
                throw new ProtocolException(ProtocolError.MalformedFrame, $"backtrace entry {i} has no endpoint ('host:port' or '[v6]:port'): '{Text.Truncate(endpoint, 64)}'");
            }

            hops[i] = new RouteHop(nodeId, endpoint);
        }

        return new BacktraceStack(hops);
    }

    public override string ToString() => string.Join(" > ", _hops.Select(h => h.Endpoint));
}
