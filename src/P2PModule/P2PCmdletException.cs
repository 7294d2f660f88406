using System.Management.Automation;

namespace P2PTransfer.Module;

/// <summary>A cmdlet-level error with a stable id and category.</summary>
public sealed class P2PCmdletException(string errorId, ErrorCategory category, string message) : Exception(message)
{
    public string ErrorId { get; } = errorId;

    public ErrorCategory Category { get; } = category;
}
