using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Suspend-P2PTransfer: a download of the session stops fetching; its partial file and record stay, and the command
/// or job that runs it waits until Resume-P2PTransfer (or Stop-P2PTransfer).
/// </summary>
[Cmdlet(VerbsLifecycle.Suspend, "P2PTransfer", SupportsShouldProcess = true, DefaultParameterSetName = TransferSet, HelpUri = HelpLinks.Cmdlets + "Suspend-P2PTransfer.md")]
[OutputType(typeof(DownloadItem))]
public sealed class SuspendP2PTransferCommand : TransferControlCmdlet
{
    protected override void ProcessRecord()
    {
        foreach (var transfer in Selected())
        {
            if (transfer.Id == 0 || transfer.State is not (DownloadState.Queued or DownloadState.Transferring or DownloadState.Suspended))
            {
                WriteError(new ErrorRecord(
                    new InvalidOperationException($"{transfer.Name} is {transfer.State}: only a download that runs can be suspended{(transfer.State == DownloadState.Stopped ? " (Resume-P2PTransfer continues a stopped one)" : string.Empty)}"),
                    "TransferNotRunning",
                    ErrorCategory.InvalidOperation,
                    transfer));
                continue;
            }

            if (!ShouldProcess(transfer.Destination, "Suspend download"))
            {
                continue;
            }

            transfer.Suspend();
            if (PassThru)
            {
                WriteObject(transfer);
            }
        }
    }
}
