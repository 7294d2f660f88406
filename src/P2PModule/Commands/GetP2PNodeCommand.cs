using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>Get-P2PNode: the nodes running in this session.</summary>
[Cmdlet(VerbsCommon.Get, "P2PNode", HelpUri = HelpLinks.Cmdlets + "Get-P2PNode.md")]
[OutputType(typeof(P2PNode))]
public sealed class GetP2PNodeCommand : P2PCmdlet
{
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string[] Name { get; set; } = ["*"];

    protected override void ProcessRecord()
    {
        var patterns = Name.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToList();
        foreach (var name in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)))
        {
            if (!NodeRegistry.Running.Any(node => string.Equals(node.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"no node named '{name}' is running in this session"), "NodeNotFound", ErrorCategory.ObjectNotFound, name));
            }
        }

        WriteObject(NodeRegistry.Running.Where(node => patterns.Any(p => p.IsMatch(node.Name))), enumerateCollection: true);
    }
}
