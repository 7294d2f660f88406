namespace P2PTransfer.Node;

/// <summary>How a test network's nodes are linked (<see cref="P2PTestNetwork"/>).</summary>
public enum TestTopology
{
    /// <summary>Each node linked to the next: n0 - n1 - n2 ...; the ends have one link.</summary>
    Line,

    /// <summary>A line whose last node is also linked to the first (from three nodes on).</summary>
    Ring,

    /// <summary>Every node linked to every other.</summary>
    Mesh,

    /// <summary>A random connected network: a random spanning tree, then random links up to about three per node.</summary>
    Random,
}
