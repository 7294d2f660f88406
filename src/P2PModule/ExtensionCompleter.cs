using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using P2PTransfer.Node;

namespace P2PTransfer.Module;

/// <summary>Tab completion of -Extension: the extensions the node's shared files have, the most common first.</summary>
public sealed class ExtensionCompleter : IArgumentCompleter
{
    private const int MaxSuggestions = 100;

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = wordToComplete.Trim('\'', '"').TrimStart('*').TrimStart('.');
        var pattern = WildcardPattern.Get(typed + "*", WildcardOptions.IgnoreCase);
        return NodesToAsk(fakeBoundParameters)
            .SelectMany(node => node.Index.SharedExtensions(MaxSuggestions))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Where(pattern.IsMatch)
            .Select(extension => new CompletionResult(extension, extension, CompletionResultType.ParameterValue, $".{extension} files"));
    }

    // The node named or given by -Node, else every node of the session.
    private static IEnumerable<P2PNode> NodesToAsk(IDictionary fakeBoundParameters)
    {
        var given = fakeBoundParameters.Contains("Node") ? fakeBoundParameters["Node"] : null;
        var value = given is PSObject wrapped ? wrapped.BaseObject : given;
        return value switch
        {
            P2PNode node => [node],
            string name => NodeRegistry.Running.Where(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase)),
            _ => NodeRegistry.Running,
        };
    }
}
