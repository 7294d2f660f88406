using System.Management.Automation;
using P2PTransfer.Index;

namespace P2PTransfer.Module.Commands;

/// <summary>Get-P2PShare: the files a node shares, with their hashes and indexing state.</summary>
[Cmdlet(VerbsCommon.Get, "P2PShare", HelpUri = HelpLinks.Cmdlets + "Get-P2PShare.md")]
[OutputType(typeof(SharedFile))]
public sealed class GetP2PShareCommand : PipelineNodeCmdlet
{
    /// <summary>Only files whose name matches this wildcard.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "*";

    /// <summary>Only files in these states.</summary>
    [Parameter]
    public SharedFileState[] State { get; set; } = [];

    protected override void ProcessRecord()
    {
        if (!TryGetTargetNode(out var node))
        {
            return;
        }

        try
        {
            foreach (var file in AwaitEach(node.GetFilesAsync(Name, StopToken)))
            {
                if (State.Length == 0 || State.Contains(file.State))
                {
                    WriteObject(file);
                }
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException && !StopToken.IsCancellationRequested)
        {
            WriteError(ToErrorRecord(ex, node));
        }
    }
}
