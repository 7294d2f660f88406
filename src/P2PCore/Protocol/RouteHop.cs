namespace P2PTransfer.Protocol;

/// <summary>One server a request passed: who it is and where it can be reached.</summary>
internal sealed record RouteHop(Guid NodeId, string Endpoint)
{
    public override string ToString() => Endpoint;
}
