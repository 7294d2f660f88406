using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Receive-P2PFile: downloads files found by Find-P2PFile (or given by -Hash and -Source) straight from the servers
/// that have them: many files at once, each from all of its sources, every piece verified, resumable.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "P2PFile", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ReceiveP2PFileCommand : P2PCmdlet, IDisposable
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
    private readonly HashSet<string> _declined = new(DownloadBatch.PathComparer);
    private readonly HashSet<int> _shownProgress = [];
    private DownloadBatch? _batch;
    private long _lastProgress;
    private bool _ended;

    /// <summary>SHA-256 of the content, 64 hex digits (a search result's Hash).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Hash { get; set; } = string.Empty;

    /// <summary>The servers that have the content ('host:port'; a search result's Endpoint).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Endpoint")]
    [ValidateNotNullOrEmpty]
    public string[] Source { get; set; } = [];

    /// <summary>The file name to save as (a search result's Name); the hash when none is given.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>Size in bytes, when known (a search result's Size): lets a one-piece file start without asking for its piece list.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    public long? Size { get; set; }

    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = TransferLimits.DefaultThrottleLimit;

    [Parameter]
    [ValidateRange(1, 64)]
    public int MaxSources { get; set; } = TransferLimits.DefaultMaxSources;

    /// <summary>Bandwidth of the whole command (all files and sources), in bytes a second: -MaxBytesPerSecond 10MB.</summary>
    [Parameter]
    [ValidateRange(1024, long.MaxValue)]
    public long? MaxBytesPerSecond { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>The key of the private network the sources belong to: a key file's path or a SecureString.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? NetworkKey { get; set; }

    protected override void BeginProcessing()
    {
        var destination = Destination ?? SessionState.Path.CurrentFileSystemLocation.Path;
        try
        {
            destination = ResolvePath(destination, nameof(Destination));
            if (File.Exists(destination))
            {
                throw new ArgumentException($"-Destination '{destination}' is a file; it must be a folder");
            }

            _batch = new DownloadBatch(
                new DownloadOptions { Destination = destination, ThrottleLimit = ThrottleLimit, MaxSources = MaxSources, MaxBytesPerSecond = MaxBytesPerSecond, Force = Force, Trace = Trace, NetworkKey = ReadNetworkKey(NetworkKey) },
                StopToken);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, destination));
        }
    }

    protected override void ProcessRecord()
    {
        var batch = _batch!;
        foreach (var source in Source)
        {
            try
            {
                var target = batch.TargetPath(Hash, Name);
                if (_declined.Contains(target))
                {
                    break;
                }

                if (batch.Contains(Hash, Name))
                {
                    batch.Add(Hash, Name, Size, source);
                    continue;
                }

                if (!ShouldProcess(target, $"Download {Hash.ToUpperInvariant()} from {source}"))
                {
                    _declined.Add(target);
                    break;
                }

                batch.Add(Hash, Name, Size, source);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                WriteError(ToErrorRecord(ex, Name ?? Hash));
                break;
            }
        }

        Report(force: false);
    }

    protected override void EndProcessing()
    {
        var all = _batch!.WhenAllAsync();
        try
        {
            while (!all.Wait(ProgressInterval, StopToken))
            {
                Report(force: false);
            }
        }
        catch (OperationCanceledException) when (StopToken.IsCancellationRequested)
        {
            CloseProgress("Cancelled");
            throw new PipelineStoppedException();
        }
        catch (AggregateException)
        {
            // Each item's failure is reported as its own error below.
        }

        Report(force: true);
        _ended = true;
    }

    public void Dispose()
    {
        if (_batch is { } batch)
        {
            _batch = null;
            batch.Cancel();
            WaitQuietly(batch.DisposeAsync().AsTask());
            if (!_ended)
            {
                CloseProgress("Cancelled");
            }
        }
    }

    /// <summary>
    /// Completes every progress bar still shown (Ctrl+C). A stopped pipeline refuses records from its commands, so
    /// then they go to the host directly, which takes them off the screen.
    /// </summary>
    private void CloseProgress(string status)
    {
        var records = _shownProgress
            .Select(number => new ProgressRecord(number, "Receiving", status) { RecordType = ProgressRecordType.Completed, ParentActivityId = 0 })
            .Append(new ProgressRecord(0, "Receiving files", status) { RecordType = ProgressRecordType.Completed })
            .ToList();
        _shownProgress.Clear();
        foreach (var record in records)
        {
            try
            {
                WriteProgress(record);
            }
            catch (Exception ex) when (ex is PipelineStoppedException or InvalidOperationException)
            {
                try
                {
                    Host?.UI?.WriteProgress(0, record);
                }
                catch (Exception hostFailure) when (hostFailure is NotImplementedException or InvalidOperationException or PipelineStoppedException)
                {
                    // A host without progress display: nothing is shown anyway.
                }
            }
        }
    }

    /// <summary>Writes what finished (files, errors), then progress (at most a few times a second).</summary>
    private void Report(bool force)
    {
        WriteTrace();
        var batch = _batch!;
        while (batch.TryTakeFinished(out var item))
        {
            Finish(item);
        }

        long now = Environment.TickCount64;
        if (!force && now - _lastProgress < ProgressInterval.TotalMilliseconds)
        {
            return;
        }

        _lastProgress = now;
        var items = batch.Items;
        int ended = items.Count(i => i.State is not DownloadState.Queued and not DownloadState.Running);
        long total = items.Sum(i => i.Size ?? 0);
        long done = items.Sum(i => i.BytesDone);
        if (force && ended == items.Count)
        {
            WriteProgress(new ProgressRecord(0, "Receiving files", "Done") { RecordType = ProgressRecordType.Completed });
            return;
        }

        WriteProgress(new ProgressRecord(0, "Receiving files", $"{ended} of {items.Count} file(s) done, {Bytes(done)} of {Bytes(total)}")
        {
            PercentComplete = total > 0 ? (int)Math.Min(100, done * 100 / total) : -1,
        });
        foreach (var item in items.Where(i => i.State == DownloadState.Running && i.Size is > 0))
        {
            _shownProgress.Add(item.Number);
            double rate = item.BytesPerSecond;
            long size = item.Size!.Value;
            WriteProgress(new ProgressRecord(item.Number, $"Receiving {item.Name}", $"{Bytes(item.BytesDone)} of {Bytes(size)} at {Bytes((long)rate)}/s from {item.ActiveSources} source(s)")
            {
                ParentActivityId = 0,
                PercentComplete = (int)Math.Min(100, item.BytesDone * 100 / size),
                SecondsRemaining = rate > 0 ? (int)Math.Min(int.MaxValue, (size - item.BytesDone) / rate) : -1,
            });
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
        if (_shownProgress.Remove(item.Number))
        {
            WriteProgress(new ProgressRecord(item.Number, $"Receiving {item.Name}", item.State.ToString()) { ParentActivityId = 0, RecordType = ProgressRecordType.Completed });
        }

        switch (item.State)
        {
            case DownloadState.Completed:
                WriteVerbose($"{item.Name}: {Bytes(item.Size ?? 0)} verified in {item.Elapsed.TotalSeconds:0.00} s ({Bytes((long)item.BytesPerSecond)}/s){(item.BytesResumed > 0 ? $", {Bytes(item.BytesResumed)} resumed from an earlier run" : string.Empty)} -> {item.Destination}");
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
        }
    }

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.00} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };
}
