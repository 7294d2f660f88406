using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace P2PTransfer.Module;

/// <summary>Tab completion of the names of the session's running nodes.</summary>
public sealed class NodeNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = WildcardPattern.Get(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        return NodeRegistry.Running
            .Where(node => pattern.IsMatch(node.Name))
            .OrderBy(node => node.Name, StringComparer.OrdinalIgnoreCase)
            .Select(node => new CompletionResult(node.Name, node.Name, CompletionResultType.ParameterValue, $"{node.Name} ({node.Endpoint})"));
    }
}
