using System.Management.Automation;

namespace P2PTransfer.Module;

/// <summary>Remove-Module stops the session's nodes, so no listener outlives the module.</summary>
public sealed class ModuleLifecycle : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo) => NodeRegistry.StopAll();
}
