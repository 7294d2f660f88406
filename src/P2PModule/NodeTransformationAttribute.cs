using System.Collections;
using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module;

/// <summary>
/// Lets -Node take a running node's name as well as the node itself (<c>Get-P2PPeer -Node xnode</c>), as
/// Get-Process -Name and -InputObject both name a process. A name no node of the session has is a clear error.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class NodeTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        return value switch
        {
            string name => ByName(name),
            IList list => list.Cast<object?>().Select(item => (item is PSObject p ? p.BaseObject : item) is string n ? ByName(n) : item).ToArray(),
            _ => inputData,
        };
    }

    private static P2PNode ByName(string name) =>
        NodeRegistry.Running.FirstOrDefault(node => string.Equals(node.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentTransformationMetadataException(
            $"no node named '{name}' is running in this session; Get-P2PNode lists the running nodes");
}
