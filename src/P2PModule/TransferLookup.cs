using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module;

/// <summary>Finds the downloads that a control cmdlet's input names (shared with Resume-P2PTransfer).</summary>
internal static class TransferLookup
{
    public static IEnumerable<DownloadItem> Select(P2PCmdlet cmdlet, string parameterSet, DownloadItem[] transfers, int[] ids, string[] paths)
    {
        var found = new List<DownloadItem>();
        switch (parameterSet)
        {
            case TransferControlCmdlet.IdSet:
                foreach (var id in ids)
                {
                    Add(cmdlet, found, SessionTransfers.Registry.Get(id), id, $"this session has no download with id {id} (Get-P2PTransfer lists them)");
                }

                break;
            case TransferControlCmdlet.PathSet:
                foreach (var path in paths)
                {
                    var full = cmdlet.ResolveFileSystemPath(path, "Path");
                    Add(cmdlet, found, SessionTransfers.Registry.FindAt(full), path, $"no download ends as '{full}': this session has none, and no partial file with its record is there");
                }

                break;
            default:
                found.AddRange(transfers.Where(t => t is not null));
                break;
        }

        return found;
    }

    private static void Add(P2PCmdlet cmdlet, List<DownloadItem> found, DownloadItem? item, object target, string message)
    {
        if (item is null)
        {
            cmdlet.WriteError(new ErrorRecord(new ItemNotFoundException(message), "TransferNotFound", ErrorCategory.ObjectNotFound, target));
        }
        else
        {
            found.Add(item);
        }
    }
}
