using P2PTransfer.Protocol;

namespace P2PTransfer.Client;

/// <summary>One answered ping, as Test-P2PNode writes it.</summary>
public sealed record PingReply(string Address, Guid NodeId, string Name, string Endpoint, int Sequence, NodeAvailability Status, double RoundTripMs);
