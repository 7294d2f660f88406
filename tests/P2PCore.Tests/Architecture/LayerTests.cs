using P2PTransfer.Node;

namespace P2PTransfer.Tests.Architecture;

/// <summary>
/// The engine's layers (docs/architecture.md): every reference between its namespaces, read from the compiled
/// assembly (signatures, attributes and method bodies), points down the arrows. A reference against them fails here
/// with the types that make it.
/// </summary>
public sealed class LayerTests
{
    /// <summary>What each layer may use besides itself. Node, the composition root, may use them all.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Common"] = [],
        ["Protocol"] = [],
        ["Identity"] = [],
        ["Discovery"] = ["Common"],
        ["Net"] = ["Common", "Protocol", "Identity"],
        ["Index"] = ["Common", "Protocol"],
        ["Peers"] = ["Common", "Protocol", "Identity", "Net"],
        ["Client"] = ["Common", "Protocol", "Identity", "Net", "Search"],
        ["Search"] = ["Common", "Protocol", "Identity", "Net", "Index"],
        ["Transfer"] = ["Common", "Protocol", "Identity", "Net", "Index", "Client"],
        ["Control"] = ["Common", "Protocol"],
        ["Node"] = ["Common", "Protocol", "Identity", "Net", "Index", "Peers", "Client", "Search", "Transfer", "Discovery", "Control"],
    };

    private static readonly LayerGraph Engine = LayerGraph.Read(typeof(P2PNode).Assembly.Location, "P2PTransfer");

    [Fact]
    public void Every_namespace_of_the_engine_has_its_place_in_the_layers()
    {
        var unplaced = Engine.Layers.Where(layer => !Allowed.ContainsKey(layer)).ToList();
        Assert.True(unplaced.Count == 0, $"namespaces with no place in the layers (add them to docs/architecture.md and to this table): {string.Join(", ", unplaced)}");
    }

    [Fact]
    public void Every_reference_between_namespaces_points_down_the_layers()
    {
        var against = Engine.References
            .Where(r => Allowed.TryGetValue(r.From, out var may) && !may.Contains(r.To))
            .Select(r => $"{r.From} -> {r.To}: {r.Evidence}")
            .ToList();
        Assert.True(against.Count == 0, $"references against the layers:{Environment.NewLine}{string.Join(Environment.NewLine, against)}");
    }

    [Fact]
    public void Nothing_below_the_node_references_the_node()
    {
        var up = Engine.References.Where(r => r.To == "Node").Select(r => $"{r.From}: {r.Evidence}").ToList();
        Assert.True(up.Count == 0, $"references up into Node:{Environment.NewLine}{string.Join(Environment.NewLine, up)}");
    }

    [Fact]
    public void The_namespaces_form_no_cycle()
    {
        var cycle = Engine.FindCycle();
        Assert.True(cycle is null, $"a cycle between namespaces: {string.Join(" -> ", cycle ?? [])}");
    }

    [Fact]
    public void The_reader_sees_a_reference_made_only_inside_a_method_body()
    {
        // Guards the guard: Planted.Low.Caller refers to Planted.High only through a call in a method body (no field,
        // no signature, no attribute), the way an upward reference most often sneaks in.
        var planted = LayerGraph.Read(typeof(LayerTests).Assembly.Location, typeof(Planted.Low.Caller).Namespace![..^".Low".Length]);
        var reference = Assert.Single(planted.References);
        Assert.Equal(("Low", "High"), (reference.From, reference.To));
        Assert.Contains("Caller", reference.Evidence);
    }
}
