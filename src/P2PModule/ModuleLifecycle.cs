using System.Management.Automation;

namespace P2PTransfer.Module;

/// <summary>Import-Module makes SQLite's native library loadable; Remove-Module stops the session's nodes, so no listener outlives the module.</summary>
public sealed class ModuleLifecycle : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => NativeLibraries.Register();

    public void OnRemove(PSModuleInfo psModuleInfo) => NodeRegistry.StopAll();
}
