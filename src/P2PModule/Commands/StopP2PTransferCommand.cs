using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Stop-P2PTransfer: cancels downloads of the session. Their partial files stay for Resume-P2PTransfer, unless
/// -Discard, which removes them (also those of downloads an earlier run left).
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "P2PTransfer", SupportsShouldProcess = true, DefaultParameterSetName = TransferSet, HelpUri = HelpLinks.Cmdlets + "Stop-P2PTransfer.md")]
[OutputType(typeof(DownloadItem))]
public sealed class StopP2PTransferCommand : TransferControlCmdlet
{
    private static readonly TimeSpan EndWait = TimeSpan.FromSeconds(10);

    /// <summary>Removes the partial file and its record: the download cannot be resumed.</summary>
    [Parameter]
    public SwitchParameter Discard { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var transfer in Selected())
        {
            bool running = transfer.Id != 0 && transfer.State is DownloadState.Queued or DownloadState.Transferring or DownloadState.Suspended;
            if (!running && !(Discard && transfer.State is DownloadState.Stopped or DownloadState.Failed))
            {
                WriteError(new ErrorRecord(
                    new InvalidOperationException($"{transfer.Name} is {transfer.State} already{(transfer.State is DownloadState.Stopped ? "; -Discard removes its partial file" : string.Empty)}"),
                    "TransferNotRunning",
                    ErrorCategory.InvalidOperation,
                    transfer));
                continue;
            }

            if (!ShouldProcess(transfer.Destination, Discard ? "Stop download and remove its partial file" : "Stop download, keeping its partial file"))
            {
                continue;
            }

            if (running)
            {
                transfer.Stop(Discard);
                // Returns once it has ended (its batch lets go of the partial file at once), so a Get-P2PTransfer or
                // Resume-P2PTransfer right after sees it stopped.
                Await(transfer.WhenEndedAsync().WaitAsync(EndWait, StopToken));
            }
            else
            {
                TransferRegistry.Discard(transfer);
            }

            if (PassThru)
            {
                WriteObject(transfer);
            }
        }
    }
}
