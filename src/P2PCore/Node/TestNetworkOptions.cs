namespace P2PTransfer.Node;

/// <summary>What a test network is started with (<see cref="P2PTestNetwork.StartAsync"/>).</summary>
public sealed class TestNetworkOptions
{
    /// <summary>How many nodes: 1 to <see cref="P2PTestNetwork.MaxNodes"/>.</summary>
    public int Count { get; set; } = 3;

    public TestTopology Topology { get; set; } = TestTopology.Line;

    /// <summary>
    /// What each node shares: one folder or file per node, in order (an empty entry shares nothing). Null: each node
    /// shares a folder of its own, made for the network, holding one file NAME.txt whose content is unique to it.
    /// </summary>
    public IReadOnlyList<string>? Shares { get; set; }

    /// <summary>Draws a <see cref="TestTopology.Random"/> network; the same seed gives the same links. Null: a random seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Nodes are named PREFIX0, PREFIX1, ...</summary>
    public string NamePrefix { get; set; } = "n";

    /// <summary>The first node listens on this loopback address, the next on the following one, and so on (127.0.0.0/8 only).</summary>
    public string FirstAddress { get; set; } = "127.0.0.1";

    /// <summary>How long the nodes may take to link and to index what they share before starting fails.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}
