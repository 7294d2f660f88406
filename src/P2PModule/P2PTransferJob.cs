using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module;

/// <summary>
/// A download running in the background (Receive-P2PFile -AsJob, Resume-P2PTransfer -AsJob), for Get-Job, Wait-Job,
/// Receive-Job, Stop-Job and Remove-Job. The files download in the engine, in this process, not in a copy of the
/// pipeline; the job reports what they do: progress to <c>$job.Progress</c> (as the command shows it), each file
/// that arrives (or was there already) to its output, each failure to its errors, and each file stopped with a
/// partial file to its warnings with the command that resumes it. Stop-Job cancels the downloads and keeps their
/// partial files; Remove-Job takes them off the session's list of downloads.
/// </summary>
public sealed class P2PTransferJob : Job
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(500);
    private readonly IReadOnlyList<DownloadBatch> _batches;
    private readonly TransferProgress _progress = new();
    private readonly Func<Exception, object?, ErrorRecord> _toError;
    private readonly Task _reporter;
    private volatile bool _stopping;
    private int _disposed;

    internal P2PTransferJob(string command, IReadOnlyList<DownloadBatch> batches, Func<Exception, object?, ErrorRecord> toError)
        : base(command)
    {
        _batches = batches;
        _toError = toError;
        PSJobTypeName = nameof(P2PTransferJob);
        SetJobState(JobState.Running);
        _reporter = Task.Run(ReportAsync);
    }

    /// <summary>The job's files, as Get-P2PTransfer lists them.</summary>
    public IReadOnlyList<DownloadItem> Downloads => [.. _batches.SelectMany(b => b.Items)];

    public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Progress.Count > 0;

    public override string Location => "localhost";

    public override string StatusMessage
    {
        get
        {
            var items = Downloads;
            int ended = items.Count(i => i.State is not DownloadState.Queued and not DownloadState.Transferring and not DownloadState.Suspended);
            return $"{ended} of {items.Count} file(s) done, {ByteSize.Format(items.Sum(i => i.BytesDone))} of {ByteSize.Format(items.Sum(i => i.Size ?? 0))}";
        }
    }

    /// <summary>Cancels every download (their partial files stay, to be resumed) and returns once they have ended.</summary>
    public override void StopJob()
    {
        _stopping = true;
        foreach (var batch in _batches)
        {
            batch.Cancel();
        }

        _reporter.Wait(TimeSpan.FromSeconds(10));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping |= !IsFinishedState(JobStateInfo.State);
            foreach (var batch in _batches)
            {
                batch.Cancel();
            }

            // Disposing the batches takes their files off the session's list.
            Task.WhenAll(_batches.Select(b => b.DisposeAsync().AsTask())).Wait(TimeSpan.FromSeconds(10));
        }

        base.Dispose(disposing);
    }

    private static bool IsFinishedState(JobState state) => state is JobState.Completed or JobState.Failed or JobState.Stopped;

    private async Task ReportAsync()
    {
        try
        {
            var all = Task.WhenAll(_batches.Select(b => b.WhenAllAsync()));
            bool final;
            do
            {
                final = await Task.WhenAny(all, Task.Delay(ReportInterval)).ConfigureAwait(false) == all;
                Report(final);
            }
            while (!final);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or ObjectDisposedException)
        {
            // The job must end whatever happens to its reporting (the batches were disposed under it, say).
            Error.Add(_toError(ex, null));
            SetJobState(JobState.Failed);
            return;
        }

        var items = Downloads;
        SetJobState(
            _stopping || items.Any(i => i.State == DownloadState.Stopped) ? JobState.Stopped
            : items.Any(i => i.State == DownloadState.Failed) ? JobState.Failed
            : JobState.Completed);
    }

    private void Report(bool final)
    {
        foreach (var batch in _batches)
        {
            while (batch.TryTakeFinished(out var item))
            {
                Finish(item);
            }
        }

        foreach (var record in _progress.Update(Downloads, final))
        {
            Progress.Add(record);
        }
    }

    private void Finish(DownloadItem item)
    {
        switch (item.State)
        {
            case DownloadState.Completed or DownloadState.Skipped when item.File is { } file:
                Output.Add(PSObject.AsPSObject(file));
                break;
            case DownloadState.Failed:
                Error.Add(_toError(item.Error!, item.Name));
                break;
            case DownloadState.Stopped when TransferProgress.ResumeHint(item) is { } hint:
                Warning.Add(new WarningRecord(hint));
                break;
        }
    }
}
