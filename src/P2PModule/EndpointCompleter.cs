using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace P2PTransfer.Module;

/// <summary>Tab completion of the endpoints this session knows: its running nodes and the peers they are linked to.</summary>
public sealed class EndpointCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = WildcardPattern.Get(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        var known = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var node in NodeRegistry.Running)
        {
            known.TryAdd(node.Endpoint, $"node {node.Name} of this session");
            foreach (var peer in node.GetPeers())
            {
                known.TryAdd(peer.Endpoint, $"{peer.Name}, a peer of {node.Name}");
            }
        }

        return known
            .Where(pair => pattern.IsMatch(pair.Key))
            .Select(pair => new CompletionResult(pair.Key, pair.Key, CompletionResultType.ParameterValue, pair.Value));
    }
}
