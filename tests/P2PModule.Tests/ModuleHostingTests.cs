using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace P2PTransfer.Module.Tests;

/// <summary>The laid-out module (out/P2PTransfer) hosted in-process, as pwsh loads it.</summary>
public sealed class ModuleHostingTests : IDisposable
{
    private readonly string _state = Path.Combine(Path.GetTempPath(), "p2pt-module-tests", Guid.NewGuid().ToString("N"));
    private readonly PowerShell _shell;

    public ModuleHostingTests()
    {
        _shell = PowerShell.Create(InitialSessionState.CreateDefault2());
        Run($"Import-Module '{ModulePath}' -ErrorAction Stop");
    }

    /// <summary>out/P2PTransfer beside the repository root, found from the test's own folder.</summary>
    private static string ModulePath
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "P2P.sln")))
            {
                directory = directory.Parent;
            }

            var path = Path.Combine(directory?.FullName ?? throw new DirectoryNotFoundException("repository root not found"), "out", "P2PTransfer");
            return File.Exists(Path.Combine(path, "P2PTransfer.psd1"))
                ? path
                : throw new FileNotFoundException($"the module is not laid out in {path}; run ./build.ps1 Build first");
        }
    }

    [Fact]
    public void The_manifest_exports_exactly_the_documented_cmdlets()
    {
        var names = Run("(Get-Module P2PTransfer).ExportedCmdlets.Keys | Sort-Object").Select(o => o.ToString()).ToList();
        Assert.Equal(
            ["Connect-P2PPeer", "Disconnect-P2PPeer", "Find-P2PFile", "Get-P2PNode", "Get-P2PPeer", "Get-P2PShare", "Get-P2PTransfer", "Install-P2PService", "New-P2PNetworkKey", "New-P2PTestNetwork", "Publish-P2PFile", "Receive-P2PFile", "Remove-P2PTestNetwork", "Resume-P2PTransfer", "Start-P2PNode", "Stop-P2PNode", "Stop-P2PTransfer", "Suspend-P2PTransfer", "Test-P2PNode", "Uninstall-P2PService", "Unpublish-P2PFile"],
            names);
        Assert.Empty(Run("(Get-Module P2PTransfer).ExportedFunctions.Keys"));
    }

    [Fact]
    public void SQLite_native_library_loads_from_the_module_folder_and_a_shared_file_is_found()
    {
        var root = Directory.CreateTempSubdirectory("p2pt-host").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "pub"));
            File.WriteAllText(Path.Combine(root, "pub", "hello.txt"), "hello");
            var output = Run($$"""
                $node = Start-P2PNode -Share '{{root}}/pub' -Name hosted -ListenAddress 127.0.0.1 -Port 0 -StateDirectory '{{root}}/state'
                $deadline = [DateTime]::UtcNow.AddSeconds(20)
                while (-not $node.IndexProgress.IsComplete -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                $node.IndexProgress.IsComplete
                (Find-P2PFile hello.txt -LocalOnly).Hash
                """).Select(o => o.ToString()).ToList();
            Assert.Equal(["True", Convert.ToHexString(System.Security.Cryptography.SHA256.HashData("hello"u8))], output);
        }
        finally
        {
            Run("Stop-P2PNode -All -DrainTimeoutSec 0");
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void The_module_is_loaded_from_its_laid_out_folder()
    {
        var path = Run("(Get-Module P2PTransfer).ModuleBase").Single().ToString();
        Assert.Equal(Path.GetFullPath(ModulePath).TrimEnd('/'), Path.GetFullPath(path!).TrimEnd('/'));
        var cmdlets = Run("(Get-Module P2PTransfer).ImplementingAssembly.Location").Single().ToString();
        Assert.StartsWith(Path.GetFullPath(ModulePath), cmdlets);
        var engine = Run($"(Start-P2PNode -Name located -ListenAddress 127.0.0.1 -Port 0 -StateDirectory '{Path.Combine(_state, "located")}').GetType().Assembly.Location").Single().ToString();
        Assert.StartsWith(Path.GetFullPath(ModulePath), engine);
    }

    [Fact]
    public void Removing_the_module_stops_its_nodes()
    {
        var node = Run($"Start-P2PNode -Name removed -ListenAddress 127.0.0.1 -Port 0 -StateDirectory '{Path.Combine(_state, "removed")}'").Single();
        Assert.Equal("Running", node.Properties["Status"].Value.ToString());

        Run("Remove-Module P2PTransfer");

        Assert.Equal("Stopped", node.Properties["Status"].Value.ToString());
    }

    public void Dispose()
    {
        _shell.Commands.Clear();
        _shell.AddScript("if (Get-Module P2PTransfer) { Stop-P2PNode -All -DrainTimeoutSec 0 }").Invoke();
        _shell.Dispose();
        try
        {
            Directory.Delete(_state, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private Collection<PSObject> Run(string script)
    {
        _shell.Commands.Clear();
        _shell.Streams.Error.Clear();
        var output = _shell.AddScript(script).Invoke();
        if (_shell.HadErrors)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, _shell.Streams.Error.Select(e => e.ToString())));
        }

        return output;
    }
}
