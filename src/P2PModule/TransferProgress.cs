using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module;

/// <summary>
/// What a download command shows while its files arrive: one parent record for the whole command and one child
/// record per file being fetched (or suspended), numbered from 1 in the order the command's files are first seen
/// (for one batch, the item's Number), with the
/// bytes verified (resumed ones count from the start), the rate and the sources; and, for each file that ends, the
/// record that takes its bar away. Used on one thread at a time: a command's pipeline thread, or a job's reporter.
/// </summary>
internal sealed class TransferProgress
{
    public const string Activity = "Receiving files";
    private readonly HashSet<int> _shown = [];
    private readonly Dictionary<DownloadItem, int> _activities = new(ReferenceEqualityComparer.Instance);

    /// <summary>The records for the files of <paramref name="items"/> as they are now; the last time (<paramref name="final"/>), the records that close every bar.</summary>
    public List<ProgressRecord> Update(IReadOnlyList<DownloadItem> items, bool final)
    {
        var records = new List<ProgressRecord>();
        foreach (var item in items)
        {
            _activities.TryAdd(item, _activities.Count + 1);
        }

        foreach (var item in items.Where(i => i.State is not DownloadState.Transferring and not DownloadState.Suspended && _shown.Contains(_activities[i])))
        {
            _shown.Remove(_activities[item]);
            records.Add(new ProgressRecord(_activities[item], $"Receiving {item.Name}", item.State.ToString()) { ParentActivityId = 0, RecordType = ProgressRecordType.Completed });
        }

        int ended = items.Count(i => i.State is not DownloadState.Queued and not DownloadState.Transferring and not DownloadState.Suspended);
        if (final && ended == items.Count)
        {
            records.AddRange(Close("Done"));
            return records;
        }

        long total = items.Sum(i => i.Size ?? 0);
        long done = items.Sum(i => i.BytesDone);
        records.Add(new ProgressRecord(0, Activity, $"{ended} of {items.Count} file(s) done, {ByteSize.Format(done)} of {ByteSize.Format(total)}")
        {
            PercentComplete = total > 0 ? (int)Math.Min(100, done * 100 / total) : -1,
        });
        foreach (var item in items.Where(i => i.State is DownloadState.Transferring or DownloadState.Suspended && i.Size is > 0))
        {
            _shown.Add(_activities[item]);
            double rate = item.BytesPerSecond;
            long size = item.Size!.Value;
            var status = item.State == DownloadState.Suspended
                ? $"{ByteSize.Format(item.BytesDone)} of {ByteSize.Format(size)}, suspended"
                : $"{ByteSize.Format(item.BytesDone)} of {ByteSize.Format(size)} at {ByteSize.Format((long)rate)}/s from {item.ActiveSources} source(s)";
            records.Add(new ProgressRecord(_activities[item], $"Receiving {item.Name}", status)
            {
                ParentActivityId = 0,
                PercentComplete = (int)Math.Min(100, item.BytesDone * 100 / size),
                SecondsRemaining = rate > 0 && item.State == DownloadState.Transferring ? (int)Math.Min(int.MaxValue, (size - item.BytesDone) / rate) : -1,
            });
        }

        return records;
    }

    /// <summary>The records that take every bar still shown away (Ctrl+C, a stopped job).</summary>
    public List<ProgressRecord> Close(string status)
    {
        var records = _shown
            .Select(id => new ProgressRecord(id, "Receiving", status) { RecordType = ProgressRecordType.Completed, ParentActivityId = 0 })
            .Append(new ProgressRecord(0, Activity, status) { RecordType = ProgressRecordType.Completed })
            .ToList();
        _shown.Clear();
        return records;
    }

    /// <summary>
    /// For a download that stopped with a partial file (Ctrl+C, Stop-Job, Stop-P2PTransfer): where the partial file is
    /// and the command that resumes it; null when nothing is left to resume.
    /// </summary>
    public static string? ResumeHint(DownloadItem item)
    {
        if (item.State != DownloadState.Stopped || !File.Exists(item.PartialPath))
        {
            return null;
        }

        // The sources' addresses (-Source), and the node expected there (-NodeId) when they all name the same one.
        var sources = item.Sources.Select(DownloadBatch.ParseSource).ToList();
        var source = sources.Count > 0 ? $" -Source {string.Join(',', sources.Select(s => s.Address).Distinct(StringComparer.OrdinalIgnoreCase).Select(Quoted))}" : string.Empty;
        var nodes = sources.Select(s => s.NodeId).Distinct().ToList();
        if (nodes is [Guid node])
        {
            source += $" -NodeId '{node:D}'";
        }

        return $"{item.Name}: stopped with {ByteSize.Format(item.BytesDone)} of {ByteSize.Format(item.Size ?? 0)} verified; the partial file '{item.PartialPath}' is kept. "
            + $"To resume it: Resume-P2PTransfer -Path {Quoted(item.Destination)}{source}";
    }

    /// <summary>A single-quoted PowerShell string: pasted at a prompt, it is taken as it is.</summary>
    private static string Quoted(string text) => $"'{text.Replace("'", "''", StringComparison.Ordinal)}'";

}
