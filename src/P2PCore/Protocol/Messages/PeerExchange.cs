namespace P2PTransfer.Protocol.Messages;

/// <summary>
/// Nodes the sender was linked to, told to a peer so that the network heals when a node goes: at most
/// <see cref="MaxPeers"/> a message, and a receiver takes at most one a minute on a link.
/// </summary>
internal sealed record PeerExchange(IReadOnlyList<RouteHop> Peers) : IMessage
{
    public const int MaxPeers = 50;

    public MessageCode Code => MessageCode.PeerExchange;

    public int PayloadLength => 1 + Peers.Sum(p => 16 + PayloadWriter.StringLength(p.Endpoint));

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteByte((byte)Peers.Count);
        foreach (var peer in Peers)
        {
            writer.WriteGuid(peer.NodeId);
            writer.WriteString(peer.Endpoint);
        }
    }

    public static PeerExchange Read(ref PayloadReader reader)
    {
        int count = reader.ReadByte();
        if (count > MaxPeers)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"a peer exchange holds at most {MaxPeers} nodes, not {count}");
        }

        var peers = new RouteHop[count];
        for (int i = 0; i < count; i++)
        {
            var nodeId = reader.ReadGuid();
            if (nodeId == Guid.Empty)
            {
                throw new ProtocolException(ProtocolError.MalformedFrame, $"peer exchange entry {i} has a zero node id");
            }

            var endpoint = reader.ReadString(ProtocolLimits.MaxEndpointBytes, "peer endpoint");
            if (!WireRules.IsEndpoint(endpoint))
            {
                throw new ProtocolException(ProtocolError.MalformedFrame, $"peer exchange entry {i} has no endpoint ('host:port' or '[v6]:port'): '{Text.Truncate(endpoint, 64)}'");
            }

            peers[i] = new RouteHop(nodeId, endpoint);
        }

        return new PeerExchange(peers);
    }
}
