using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Get-P2PTransfer: the session's downloads (of Receive-P2PFile in the foreground in any runspace, and of jobs until
/// they are removed), by -Id; or the downloads into folders (-Destination) or files (-Path), including those an
/// earlier run left (Ctrl+C, a stopped job, a crash), read from the records of their partial files.
/// </summary>
[Cmdlet(VerbsCommon.Get, "P2PTransfer", DefaultParameterSetName = AllSet, HelpUri = HelpLinks.Cmdlets + "Get-P2PTransfer.md")]
[OutputType(typeof(DownloadItem))]
public sealed class GetP2PTransferCommand : P2PCmdlet
{
    private const string AllSet = "All";
    private const string DestinationSet = "Destination";

    /// <summary>Ids of the session's downloads.</summary>
    [Parameter(ParameterSetName = TransferControlCmdlet.IdSet, Mandatory = true, Position = 0)]
    public int[] Id { get; set; } = [];

    /// <summary>Folders downloaded into: their downloads, running or left by an earlier run.</summary>
    [Parameter(ParameterSetName = DestinationSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string[] Destination { get; set; } = [];

    /// <summary>Destination files (or their partial files): the download of each, running or left by an earlier run.</summary>
    [Parameter(ParameterSetName = TransferControlCmdlet.PathSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case DestinationSet:
                foreach (var folder in Destination)
                {
                    WriteObject(SessionTransfers.Registry.FindInterrupted(ResolvePath(folder, nameof(Destination))), enumerateCollection: true);
                }

                break;
            case AllSet:
                WriteObject(SessionTransfers.Registry.Downloads, enumerateCollection: true);
                break;
            default:
                WriteObject(TransferLookup.Select(this, ParameterSetName, [], Id, Path), enumerateCollection: true);
                break;
        }
    }
}
