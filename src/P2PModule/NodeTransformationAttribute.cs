using System.Collections;
using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module;

/// <summary>
/// Lets -Node take a running node's name as well as the node itself (<c>Get-P2PPeer -Node xnode</c>), as
/// Get-Process -Name and -InputObject both name a process: a node of this session (a <see cref="P2PNode"/>), one of
/// another session (a <see cref="RemoteNode"/>), or a name, of a node of this session or else of another session of
/// this user. A name no running node has is a clear error.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class NodeTransformationAttribute : ArgumentTransformationAttribute
{
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        return value switch
        {
            IList list => list.Cast<object?>().Select(One).ToArray(),
            _ => One(inputData),
        };
    }

    private static object? One(object? item) => (item is PSObject p ? p.BaseObject : item) switch
    {
        string name => ByName(name),
        P2PNode node => node.Managed,
        _ => item,
    };

    private static IManagedNode ByName(string name) =>
        NodeRegistry.Find(name)
        ?? throw new ArgumentTransformationMetadataException(
            $"no node named '{name}' is running in this session or another session of this user; Get-P2PNode -All lists the running nodes");
}
