using System.Management.Automation;
using P2PTransfer.Search;

namespace P2PTransfer.Module.Commands;

/// <summary>Find-P2PFile: searches for files by name, pattern, extension, size and hash.</summary>
[Cmdlet(VerbsCommon.Find, "P2PFile")]
[OutputType(typeof(P2PSearchResult))]
public sealed class FindP2PFileCommand : PipelineNodeCmdlet
{
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>A regular expression on the file name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Pattern { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Extension { get; set; } = [];

    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? MinSize { get; set; }

    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? MaxSize { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Hash { get; set; }

    /// <summary>Answer from the node's own index only (the original client's 'only the server I am connected to').</summary>
    [Parameter]
    public SwitchParameter LocalOnly { get; set; }

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxResults { get; set; } = int.MaxValue;

    protected override void ProcessRecord()
    {
        if (!TryGetTargetNode(out var node))
        {
            return;
        }

        var query = new FileQuery
        {
            Names = Name,
            Pattern = Pattern,
            Extensions = Extension,
            MinSize = MinSize,
            MaxSize = MaxSize,
            Hash = Hash,
        };

        try
        {
            foreach (var result in node.SearchLocal(query, MaxResults, StopToken))
            {
                WriteObject(result);
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException && !StopToken.IsCancellationRequested)
        {
            ThrowTerminatingError(ToErrorRecord(ex, query));
        }
    }
}
