using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace P2PTransfer.Module;

/// <summary>Tab completion of the names of the session's running nodes, then of this user's nodes in other sessions (the control folder's sockets).</summary>
public sealed class NodeNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = WildcardPattern.Get(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        var here = NodeRegistry.Running
            .Where(node => pattern.IsMatch(node.Name))
            .OrderBy(node => node.Name, StringComparer.OrdinalIgnoreCase)
            .Select(node => new CompletionResult(node.Name, node.Name, CompletionResultType.ParameterValue, $"{node.Name} ({node.Endpoint})"))
            .ToList();
        var others = P2PTransfer.Node.RemoteNode.GetNames()
            .Where(name => pattern.IsMatch(name) && !here.Any(c => string.Equals(c.CompletionText, name, StringComparison.OrdinalIgnoreCase)))
            .Select(name => new CompletionResult(name, name, CompletionResultType.ParameterValue, $"{name} (another session)"));
        return here.Concat(others);
    }
}
