namespace P2PTransfer.Node;

/// <summary>A link of a test network: <see cref="From"/> dialed <see cref="To"/>; both list it with Get-P2PPeer.</summary>
public sealed record TestNetworkLink(P2PNode From, P2PNode To)
{
    public override string ToString() => $"{From.Name} - {To.Name}";
}
