using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>Get-P2PNode: the nodes running in this session; with -All, those of this user in other sessions and services too.</summary>
[Cmdlet(VerbsCommon.Get, "P2PNode", HelpUri = HelpLinks.Cmdlets + "Get-P2PNode.md")]
[OutputType(typeof(P2PNode), typeof(RemoteNode))]
public sealed class GetP2PNodeCommand : P2PCmdlet
{
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string[] Name { get; set; } = ["*"];

    /// <summary>Also the running nodes of this user in other sessions and services (reached through their control channels).</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    protected override void ProcessRecord()
    {
        var patterns = Name.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToList();
        List<(string Name, object Node)> nodes = [.. NodeRegistry.Running.Select(node => (node.Name, (object)node))];
        if (All)
        {
            nodes.AddRange(NodeRegistry.Others().Select(node => (node.Name, (object)node)));
        }

        foreach (var name in Name.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)))
        {
            if (!nodes.Any(node => string.Equals(node.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                var where = All ? "in this session or another session of this user" : "in this session (-All looks in this user's other sessions too)";
                WriteError(new ErrorRecord(new ItemNotFoundException($"no node named '{name}' is running {where}"), "NodeNotFound", ErrorCategory.ObjectNotFound, name));
            }
        }

        WriteObject(nodes.Where(node => patterns.Any(p => p.IsMatch(node.Name))).Select(node => node.Node), enumerateCollection: true);
    }
}
