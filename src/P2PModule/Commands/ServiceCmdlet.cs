using System.Management.Automation;
using P2PTransfer.Node;

namespace P2PTransfer.Module.Commands;

/// <summary>What Install- and Uninstall-P2PService share: where the host is, and their errors' ids.</summary>
internal static class ServiceCmdlet
{
    /// <summary>The module's host/ folder, where build.ps1 lays out P2PHost.</summary>
    public static string HostDirectory => Path.Combine(Path.GetDirectoryName(typeof(ServiceCmdlet).Assembly.Location)!, "host");

    public static ErrorRecord ToErrorRecord(Exception exception, NodeServiceInfo service) => exception switch
    {
        NodeServiceException { Error: NodeServiceError.HostMissing } => new ErrorRecord(exception, "ServiceHostMissing", ErrorCategory.ObjectNotFound, service),
        NodeServiceException { Error: NodeServiceError.NotOurs } => new ErrorRecord(exception, "ServiceNotOwned", ErrorCategory.ResourceExists, service),
        NodeServiceException { Error: NodeServiceError.NotFound } => new ErrorRecord(exception, "ServiceNotFound", ErrorCategory.ObjectNotFound, service),
        NodeServiceException { Error: NodeServiceError.ManagerFailed } => new ErrorRecord(exception, "ServiceManagerFailed", ErrorCategory.InvalidOperation, service),
        DirectoryNotFoundException => new ErrorRecord(exception, "PathNotFound", ErrorCategory.ObjectNotFound, service),
        UnauthorizedAccessException => new ErrorRecord(exception, "AccessDenied", ErrorCategory.PermissionDenied, service),
        IOException => new ErrorRecord(exception, "ServiceWriteFailed", ErrorCategory.WriteError, service),
        _ => new ErrorRecord(exception, exception.GetType().Name, ErrorCategory.NotSpecified, service),
    };
}
