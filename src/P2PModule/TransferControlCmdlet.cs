using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module;

/// <summary>
/// Base of Suspend-P2PTransfer and Stop-P2PTransfer: the downloads to act on, from the pipeline (Get-P2PTransfer's
/// objects), by -Id, or by -Path (a destination file or its partial file: a download of this session, or one an
/// earlier run left). A download that cannot be found is an error for that input only.
/// </summary>
public abstract class TransferControlCmdlet : P2PCmdlet
{
    public const string TransferSet = "Transfer";
    public const string IdSet = "Id";
    public const string PathSet = "Path";

    /// <summary>Downloads from Get-P2PTransfer.</summary>
    [Parameter(ParameterSetName = TransferSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public DownloadItem[] Transfer { get; set; } = [];

    /// <summary>Ids of the session's downloads (Get-P2PTransfer's Id).</summary>
    [Parameter(ParameterSetName = IdSet, Mandatory = true)]
    public int[] Id { get; set; } = [];

    /// <summary>Where downloads end: their destination files (or partial files).</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>Writes each download acted on to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The downloads this input names; each one that cannot be found is written as an error.</summary>
    protected IEnumerable<DownloadItem> Selected() => TransferLookup.Select(this, ParameterSetName, Transfer, Id, Path);
}
