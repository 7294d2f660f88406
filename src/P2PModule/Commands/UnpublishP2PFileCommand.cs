using System.Management.Automation;

namespace P2PTransfer.Module.Commands;

/// <summary>Unpublish-P2PFile: stops sharing folders or files; a path inside a shared folder is excluded from it.</summary>
[Cmdlet(VerbsData.Unpublish, "P2PFile", SupportsShouldProcess = true, DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Cmdlets + "Unpublish-P2PFile.md")]
[OutputType(typeof(void))]
public sealed class UnpublishP2PFileCommand : ShareCmdlet
{
    protected override string Action => "Unpublish";

    protected override bool MustExist => false;

    protected override void EndProcessing()
    {
        if (!TryGetPaths(out var node, out var paths))
        {
            return;
        }

        using var trace = TraceNode(node);
        try
        {
            Await(node.UnpublishAsync(paths, StopToken));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ToErrorRecord(ex, string.Join(", ", paths)));
        }
    }
}
