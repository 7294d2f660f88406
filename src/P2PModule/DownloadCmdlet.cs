using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module;

/// <summary>
/// What the commands that download share (Receive-P2PFile, Resume-P2PTransfer): batches listed in the session's
/// downloads, run in the foreground (progress, files, errors on the pipeline thread; Ctrl+C stops them and says how
/// to resume) or handed to a <see cref="P2PTransferJob"/> with -AsJob.
/// </summary>
public abstract class DownloadCmdlet : P2PCmdlet, IDisposable
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
    // Progress is written under a source id of the command's own, so that another command of the pipeline can
    // write its records too (see RelayProgressWhileUpstreamWaits); far from the small numbers PowerShell gives.
    private static long s_lastSourceId = 0x5032_5000_0000_0000;
    private readonly List<DownloadBatch> _batches = [];
    private readonly TransferProgress _progress = new();
    private readonly long _sourceId = Interlocked.Increment(ref s_lastSourceId);
    private long _lastProgress;
    private bool _ended;

    /// <summary>Writes each file that arrived (or was there already) to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Downloads in the background: returns a job for Get-Job, Wait-Job, Receive-Job, Stop-Job and Remove-Job.</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>The batches of this command, in the order they were made.</summary>
    protected IReadOnlyList<DownloadBatch> Batches => _batches;

    /// <summary>A batch into <paramref name="destination"/> (a full path), listed in the session's downloads, stopped by Ctrl+C unless -AsJob.</summary>
    protected DownloadBatch NewBatch(string destination, int throttleLimit, int maxSources, long? maxBytesPerSecond, bool force, bool keepFolders = false, byte[]? networkKey = null)
    {
        var batch = new DownloadBatch(
            new DownloadOptions
            {
                Destination = destination,
                ThrottleLimit = throttleLimit,
                MaxSources = maxSources,
                MaxBytesPerSecond = maxBytesPerSecond,
                Force = force,
                KeepFolders = keepFolders,
                NetworkKey = networkKey,
                Trace = AsJob ? null : Trace,
                Registry = SessionTransfers.Registry,
            },
            AsJob ? CancellationToken.None : StopToken);
        _batches.Add(batch);
        if (!AsJob)
        {
            RelayProgressWhileUpstreamWaits();
        }

        return batch;
    }

    /// <summary>Runs the batches to their end in the foreground, or hands them to a job that it writes out (-AsJob).</summary>
    protected void RunDownloads()
    {
        if (_batches.Count == 0)
        {
            _ended = true;
            return;
        }

        if (AsJob)
        {
            var job = new P2PTransferJob(MyInvocation.MyCommand.Name, [.. _batches], ToErrorRecord);
            _batches.Clear();
            JobRepository.Add(job);
            WriteObject(job);
            _ended = true;
            return;
        }

        var all = Task.WhenAll(_batches.Select(b => b.WhenAllAsync()));
        try
        {
            while (!all.Wait(ProgressInterval, StopToken))
            {
                Report(force: false);
            }
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (AggregateException)
        {
            // Each item's failure is reported as its own error below.
        }

        Report(force: true);
        _ended = true;
    }

    /// <summary>Writes what finished (files, errors), then progress (at most a few times a second). Nothing for a job: it reports itself.</summary>
    protected void Report(bool force)
    {
        if (AsJob)
        {
            return;
        }

        WriteTrace();
        foreach (var batch in _batches)
        {
            while (batch.TryTakeFinished(out var item))
            {
                Finish(item);
            }
        }

        foreach (var (sourceId, record) in Progress(force))
        {
            CommandRuntime.WriteProgress(sourceId, record);
        }
    }

    protected override IEnumerable<(long SourceId, ProgressRecord Record)> PendingProgress() => Progress(force: false);

    public void Dispose()
    {
        StopRelayingProgress();
        var batches = _batches.ToList();
        _batches.Clear();
        if (batches.Count == 0)
        {
            return;
        }

        foreach (var batch in batches)
        {
            batch.Cancel();
        }

        WaitQuietly(Task.WhenAll(batches.Select(b => b.DisposeAsync().AsTask())));
        if (!_ended)
        {
            // Ctrl+C: the bars go, and each file stopped with a partial file says where it is and how to resume it.
            foreach (var record in _progress.Close("Cancelled"))
            {
                ToHost(() => WriteProgress(record), ui => ui.WriteProgress(_sourceId, record));
            }

            foreach (var hint in batches.SelectMany(b => b.Items).Select(TransferProgress.ResumeHint).OfType<string>())
            {
                ToHost(() => WriteWarning(hint), ui => ui.WriteWarningLine(hint));
            }
        }
    }

    private IEnumerable<(long SourceId, ProgressRecord Record)> Progress(bool force)
    {
        long now = Environment.TickCount64;
        if (_batches.Count == 0 || (!force && now - _lastProgress < ProgressInterval.TotalMilliseconds))
        {
            return [];
        }

        _lastProgress = now;
        return _progress.Update([.. _batches.SelectMany(b => b.Items)], force).Select(r => (_sourceId, r));
    }

    /// <summary>
    /// Writes on the pipeline; a stopped pipeline refuses records from its commands (Ctrl+C), so then they go to the
    /// host directly, which shows them (and takes progress off the screen).
    /// </summary>
    private void ToHost(Action write, Action<System.Management.Automation.Host.PSHostUserInterface> direct)
    {
        try
        {
            write();
        }
        catch (Exception ex) when (ex is PipelineStoppedException or InvalidOperationException)
        {
            try
            {
                if (Host?.UI is { } ui)
                {
                    direct(ui);
                }
            }
            catch (Exception hostFailure) when (hostFailure is NotImplementedException or InvalidOperationException or PipelineStoppedException)
            {
                // A host without a display for it: nothing is shown anyway.
            }
        }
    }

    // The file as the file-system provider gives it (as Get-Item does): a bare FileInfo lacks the provider's
    // properties (PSPath, and on Unix the mode, owner and size that its default view shows).
    // A file moved or deleted since it arrived (by a command further down the pipeline, say) is that file's
    // non-terminating error; the rest carry on.
    private void WriteFile(DownloadItem item)
    {
        var file = item.File!;
        try
        {
            WriteObject(SessionState.InvokeProvider.Item.Get([file.FullName], force: true, literalPath: true), enumerateCollection: true);
        }
        catch (ItemNotFoundException ex)
        {
            WriteError(ToErrorRecord(new FileNotFoundException($"'{file.FullName}' arrived but was moved or deleted before it could be written out", file.FullName, ex), item.Name));
        }
    }

    private void Finish(DownloadItem item)
    {
        switch (item.State)
        {
            case DownloadState.Completed:
                WriteVerbose($"{item.Name}: {ByteSize.Format(item.Size ?? 0)} verified in {item.Elapsed.TotalSeconds:0.00} s ({ByteSize.Format((long)item.BytesPerSecond)}/s){(item.BytesResumed > 0 ? $", {ByteSize.Format(item.BytesResumed)} resumed from an earlier run" : string.Empty)} -> {item.Destination}");
                if (PassThru)
                {
                    WriteFile(item);
                }

                break;
            case DownloadState.Skipped:
                WriteVerbose($"{item.Name}: {item.Destination} already holds this content; not downloaded again");
                if (PassThru)
                {
                    WriteFile(item);
                }

                break;
            case DownloadState.Failed:
                WriteError(ToErrorRecord(item.Error!, item.Name));
                break;
            case DownloadState.Stopped when TransferProgress.ResumeHint(item) is { } hint:
                // Stopped by Stop-P2PTransfer while this command runs.
                WriteWarning(hint);
                break;
        }
    }
}
