using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using Messages = P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Node;

/// <summary>Who a node says it is in its Hellos, Welcomes and messages.</summary>
internal sealed record NodeIdentity(Guid Id, string Name, string Endpoint)
{
    /// <summary>Checks that the name and endpoint are what the protocol allows, so a bad one fails at start, never on the wire.</summary>
    public static NodeIdentity Create(Guid id, string name, string endpoint)
    {
        if (!WireRules.IsEndpoint(endpoint))
        {
            // Peers refuse a Hello whose endpoint breaks the protocol's grammar (protocol.md section 5).
            throw new ArgumentException($"the advertised endpoint '{Text.Truncate(endpoint, 300)}' is not 'host:port' with a host name or IP address that the protocol allows (see -AdvertisedHost)");
        }

        if (!WireRules.IsNodeName(name))
        {
            // A Welcome must carry a node name (protocol.md section 5): a bad one fails here, never on the wire.
            throw new ArgumentException($"'{Text.Escape(Text.Truncate(name, 100))}' is not a valid node name: use letters, digits, '.', '_' or '-' (at most 64), the first a letter or digit");
        }

        return new NodeIdentity(id, name, endpoint);
    }

    /// <summary>The Welcome that answers <paramref name="hello"/> (its version the highest both speak), or any dialer when null.</summary>
    public Welcome Welcome(NodeAvailability availability, Hello? hello = null) =>
        Messages.Welcome.Create(availability, Id, Endpoint, Name) with { Version = hello is null ? ProtocolLimits.Version : Handshake.ChosenVersion(hello) };
}
