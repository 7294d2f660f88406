using Mono.Cecil;
using Mono.Cecil.Cil;

namespace P2PTransfer.Tests.Architecture;

/// <summary>One reference between two layers, with the first pair of types seen making it.</summary>
public sealed record LayerReference(string From, string To, string Evidence);

/// <summary>
/// The references between the layers of an assembly, read from its metadata and IL with Mono.Cecil: base types,
/// interfaces, fields, properties, events, signatures, attributes, locals and every type, method or field an
/// instruction names. A layer is the namespace segment right under <c>root</c> (<c>P2PTransfer.Protocol.Messages</c>
/// belongs to Protocol); types outside <c>root</c> are ignored.
/// </summary>
public sealed class LayerGraph
{
    private readonly string _root;
    private readonly Dictionary<(string From, string To), string> _edges = [];
    private readonly SortedSet<string> _layers = new(StringComparer.Ordinal);

    private LayerGraph(string root) => _root = root + ".";

    public IReadOnlyCollection<string> Layers => _layers;

    public IReadOnlyList<LayerReference> References =>
        [.. _edges.OrderBy(e => e.Key.From, StringComparer.Ordinal).ThenBy(e => e.Key.To, StringComparer.Ordinal).Select(e => new LayerReference(e.Key.From, e.Key.To, e.Value))];

    public static LayerGraph Read(string assemblyPath, string root)
    {
        var graph = new LayerGraph(root);
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath);
        foreach (var type in assembly.MainModule.GetTypes())
        {
            if (graph.LayerOf(type) is { } layer)
            {
                graph._layers.Add(layer);
                graph.Visit(type, layer);
            }
        }

        return graph;
    }

    /// <summary>A cycle among the layers, as the list of layers around it (first repeated last), or null.</summary>
    public IReadOnlyList<string>? FindCycle()
    {
        var next = _edges.Keys.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToList());
        var state = new Dictionary<string, int>();
        var path = new List<string>();

        List<string>? Walk(string layer)
        {
            state[layer] = 1;
            path.Add(layer);
            foreach (var to in next.GetValueOrDefault(layer) ?? [])
            {
                if (state.GetValueOrDefault(to) == 1)
                {
                    return [.. path.SkipWhile(l => l != to), to];
                }

                if (state.GetValueOrDefault(to) == 0 && Walk(to) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[layer] = 2;
            return null;
        }

        foreach (var layer in next.Keys.Order(StringComparer.Ordinal))
        {
            if (state.GetValueOrDefault(layer) == 0 && Walk(layer) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    private void Visit(TypeDefinition type, string layer)
    {
        void Use(TypeReference? used) => Note(type, layer, used);

        Use(type.BaseType);
        foreach (var i in type.Interfaces) Use(i.InterfaceType);
        Attributes(type.CustomAttributes, Use);
        foreach (var p in type.GenericParameters) foreach (var c in p.Constraints) Use(c.ConstraintType);
        foreach (var field in type.Fields) { Use(field.FieldType); Attributes(field.CustomAttributes, Use); }
        foreach (var property in type.Properties) { Use(property.PropertyType); Attributes(property.CustomAttributes, Use); }
        foreach (var e in type.Events) Use(e.EventType);
        foreach (var method in type.Methods)
        {
            Use(method.ReturnType);
            Attributes(method.CustomAttributes, Use);
            foreach (var parameter in method.Parameters) { Use(parameter.ParameterType); Attributes(parameter.CustomAttributes, Use); }
            if (!method.HasBody) continue;
            foreach (var local in method.Body.Variables) Use(local.VariableType);
            foreach (var handler in method.Body.ExceptionHandlers) Use(handler.CatchType);
            foreach (var instruction in method.Body.Instructions) Operand(instruction, Use);
        }
    }

    private static void Operand(Instruction instruction, Action<TypeReference?> use)
    {
        switch (instruction.Operand)
        {
            case TypeReference t:
                use(t);
                break;
            case MethodReference m:
                use(m.DeclaringType);
                use(m.ReturnType);
                foreach (var p in m.Parameters) use(p.ParameterType);
                if (m is GenericInstanceMethod g) foreach (var a in g.GenericArguments) use(a);
                break;
            case FieldReference f:
                use(f.DeclaringType);
                use(f.FieldType);
                break;
        }
    }

    private static void Attributes(IEnumerable<CustomAttribute> attributes, Action<TypeReference?> use)
    {
        foreach (var attribute in attributes)
        {
            use(attribute.AttributeType);
            foreach (var argument in attribute.ConstructorArguments) if (argument.Value is TypeReference t) use(t);
        }
    }

    private void Note(TypeDefinition user, string userLayer, TypeReference? used)
    {
        foreach (var named in Named(used))
        {
            if (LayerOf(named) is { } usedLayer && usedLayer != userLayer)
            {
                _edges.TryAdd((userLayer, usedLayer), $"{Outer(user).FullName} uses {Outer(named).FullName}");
            }
        }
    }

    /// <summary>The named types inside a reference: the element of arrays and pointers, a generic type and its arguments.</summary>
    private static IEnumerable<TypeReference> Named(TypeReference? type)
    {
        switch (type)
        {
            case null or GenericParameter:
                yield break;
            case GenericInstanceType generic:
                foreach (var t in Named(generic.ElementType)) yield return t;
                foreach (var argument in generic.GenericArguments) foreach (var t in Named(argument)) yield return t;
                break;
            case TypeSpecification spec:
                foreach (var t in Named(spec.ElementType)) yield return t;
                break;
            default:
                yield return type;
                break;
        }
    }

    private static TypeReference Outer(TypeReference type)
    {
        while (type.DeclaringType is { } outer) type = outer;
        return type;
    }

    private string? LayerOf(TypeReference type)
    {
        var ns = Outer(type).Namespace;
        if (!ns.StartsWith(_root, StringComparison.Ordinal)) return null;
        var rest = ns[_root.Length..];
        var dot = rest.IndexOf('.');
        return dot < 0 ? rest : rest[..dot];
    }
}
