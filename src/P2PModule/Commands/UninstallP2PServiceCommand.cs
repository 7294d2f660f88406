using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>Uninstall-P2PService: stops a node's service (the node drains and says goodbye) and removes it; its state directory stays.</summary>
[Cmdlet(VerbsLifecycle.Uninstall, "P2PService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpLinks.Cmdlets + "Uninstall-P2PService.md")]
[OutputType(typeof(void))]
public sealed class UninstallP2PServiceCommand : P2PCmdlet
{
    /// <summary>The node's name, as given to Install-P2PService (or its NodeName from the pipeline).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("NodeName")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = string.Empty;

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ServiceScope Scope { get; set; } = ServiceScope.CurrentUser;

    protected override void ProcessRecord()
    {
        NodeServiceInfo service;
        try
        {
            service = NodeService.Describe(Name, null, Scope, ServiceCmdlet.HostDirectory, TimeSpan.Zero);
        }
        catch (ArgumentException ex)
        {
            WriteError(ToErrorRecord(ex, Name));
            return;
        }

        if (!ShouldProcess($"{service.ServiceName} ({service.UnitPath})", "Uninstall P2P service"))
        {
            return;
        }

        try
        {
            NodeService.Uninstall(service);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ServiceCmdlet.ToErrorRecord(ex, service));
        }
    }
}
