using System.Management.Automation;
using P2PTransfer.Index;

namespace P2PTransfer.Module.Commands;

/// <summary>Publish-P2PFile: shares more folders or files from a running node.</summary>
[Cmdlet(VerbsData.Publish, "P2PFile", SupportsShouldProcess = true, DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Cmdlets + "Publish-P2PFile.md")]
[OutputType(typeof(SharedFile))]
public sealed class PublishP2PFileCommand : ShareCmdlet
{
    /// <summary>-Wait: return once the published files are hashed and searchable.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override string Action => "Publish";

    protected override void EndProcessing()
    {
        if (!TryGetPaths(out var node, out var paths))
        {
            return;
        }

        using var trace = TraceNode(node);
        try
        {
            Await(node.PublishAsync(paths, Wait || PassThru, StopToken));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ToErrorRecord(ex, string.Join(", ", paths)));
            return;
        }

        if (PassThru)
        {
            foreach (var file in AwaitEach(node.GetFilesBelowAsync(paths, StopToken)))
            {
                WriteObject(file);
            }
        }
    }
}
