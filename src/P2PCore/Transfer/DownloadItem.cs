using System.Diagnostics;

namespace P2PTransfer.Transfer;

/// <summary>
/// One content (one hash) of a download batch: its name, its sources (more may join while it runs) and its progress,
/// readable from any thread while the engine works; and its controls (<see cref="Suspend"/>, <see cref="Resume"/>,
/// <see cref="Stop"/>), callable from any thread: the batch that runs it obeys them. An item read from a partial file
/// that an earlier run left (<see cref="TransferRegistry.FindInterrupted"/>) is <see cref="DownloadState.Stopped"/> and
/// runs nowhere: resuming it is a new download of its hash into its destination.
/// </summary>
public sealed class DownloadItem
{
    private readonly object _gate = new();
    private readonly List<string> _sources = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _failures = new(StringComparer.OrdinalIgnoreCase);
    private readonly Stopwatch _clock = new();
    private long _bytesDone;
    private long _bytesResumed;
    private int _activeSources;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DownloadState _state;
    private bool _started;
    private bool _discard;
    private CancellationTokenSource? _run;
    private CancellationTokenSource? _suspendedRun;
    private TaskCompletionSource? _resumed;

    internal DownloadItem(int number, byte[] hash, string name, long? size, string destination)
    {
        Number = number;
        HashBytes = hash;
        Hash = Convert.ToHexString(hash);
        Name = name;
        Size = size;
        Destination = destination;
    }

    /// <summary>Numbers the items of a batch from 1, in the order they were added.</summary>
    public int Number { get; }

    /// <summary>The download's id in its <see cref="TransferRegistry"/> (unique there, from 1); 0 when it is in none.</summary>
    public int Id { get; internal set; }

    public string Hash { get; }

    public string Name { get; }

    /// <summary>Bytes of the file: as the search said, then as the source confirmed.</summary>
    public long? Size { get; internal set; }

    /// <summary>The final path of the file.</summary>
    public string Destination { get; }

    public DownloadState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Verified bytes on disk, including those resumed from an earlier run.</summary>
    public long BytesDone => Interlocked.Read(ref _bytesDone);

    /// <summary>Bytes an earlier run had verified already (not fetched again).</summary>
    public long BytesResumed => Interlocked.Read(ref _bytesResumed);

    /// <summary>Sources fetching pieces right now.</summary>
    public int ActiveSources => Volatile.Read(ref _activeSources);

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Bytes a second fetched in this run.</summary>
    public double BytesPerSecond => _clock.Elapsed.TotalSeconds > 0.05 ? (BytesDone - BytesResumed) / _clock.Elapsed.TotalSeconds : 0;

    /// <summary>Why the item failed.</summary>
    public Exception? Error { get; private set; }

    /// <summary>The downloaded (or already present) file.</summary>
    public FileInfo? File { get; private set; }

    /// <summary>Per source that was dropped: why (it failed, stalled, refused, or sent bad data).</summary>
    public IReadOnlyDictionary<string, string> SourceFailures => _failures;

    internal byte[] HashBytes { get; }

    public IReadOnlyList<string> Sources
    {
        get
        {
            lock (_gate)
            {
                return [.. _sources];
            }
        }
    }

    /// <summary>The partial file of the download (<c>NAME.p2ppart</c>), where its verified pieces wait for the rest.</summary>
    public string PartialPath => Destination + PartialFile.DataSuffix;

    /// <summary>True once Stop was asked for with discard: its partial file goes when it ends.</summary>
    internal bool DiscardRequested
    {
        get
        {
            lock (_gate)
            {
                return _discard;
            }
        }
    }

    /// <summary>Tripped by <see cref="Stop"/>: ends the item's run wherever it waits.</summary>
    internal CancellationToken StopToken => _stop.Token;

    internal bool HasEnded => IsEnded(State);

    /// <summary>
    /// Stops fetching: the pieces under way are given up, the partial file and its record stay, and the item waits
    /// until <see cref="Resume"/> (or <see cref="Stop"/>). False when it has ended already.
    /// </summary>
    public bool Suspend()
    {
        CancellationTokenSource? run;
        lock (_gate)
        {
            if (IsEnded(_state))
            {
                return false;
            }

            if (_state != DownloadState.Suspended)
            {
                _state = DownloadState.Suspended;
                _resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _clock.Stop();
            }

            run = _run;
            _suspendedRun = run;
        }

        run?.Cancel();
        return true;
    }

    /// <summary>
    /// True when <paramref name="run"/> was ended by <see cref="Suspend"/>, even if the item was resumed before the
    /// run finished unwinding: its end is a suspend, not a failure.
    /// </summary>
    internal bool WasSuspended(CancellationTokenSource run)
    {
        lock (_gate)
        {
            return _suspendedRun == run;
        }
    }

    /// <summary>Lets a suspended item fetch again, from its record (nothing verified is fetched again). False when it has ended already.</summary>
    public bool Resume()
    {
        TaskCompletionSource? resumed;
        lock (_gate)
        {
            if (IsEnded(_state))
            {
                return false;
            }

            if (_state != DownloadState.Suspended)
            {
                return true;
            }

            _state = _started ? DownloadState.Transferring : DownloadState.Queued;
            resumed = _resumed;
            _resumed = null;
            if (_started)
            {
                _clock.Start();
            }
        }

        resumed?.TrySetResult();
        return true;
    }

    /// <summary>
    /// Cancels the item: it ends <see cref="DownloadState.Stopped"/> and keeps its partial file for a later resume,
    /// unless <paramref name="discard"/> (then the partial file and its record are removed). False when it has ended already.
    /// </summary>
    public bool Stop(bool discard = false)
    {
        TaskCompletionSource? resumed;
        lock (_gate)
        {
            if (IsEnded(_state))
            {
                return false;
            }

            _discard |= discard;
            resumed = _resumed;
        }

        _stop.Cancel();
        resumed?.TrySetResult();
        return true;
    }

    /// <summary>Returns at once unless the item is suspended; then when it is resumed or stopped.</summary>
    internal Task WhileSuspendedAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _resumed is { } resumed ? resumed.Task.WaitAsync(cancellationToken) : Task.CompletedTask;
        }
    }

    /// <summary>
    /// The cancellation of one run of the item's download: <see cref="Suspend"/> trips it (as do Stop and the
    /// batch's own token, through <paramref name="cancellationToken"/>). Null when the item was suspended meanwhile.
    /// </summary>
    internal CancellationTokenSource? BeginRun(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_state == DownloadState.Suspended)
            {
                return null;
            }

            _run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            return _run;
        }
    }

    internal void EndRun(CancellationTokenSource run)
    {
        lock (_gate)
        {
            if (_run == run)
            {
                _run = null;
            }

            if (_suspendedRun == run)
            {
                _suspendedRun = null;
            }
        }

        run.Dispose();
    }

    private static bool IsEnded(DownloadState state) => state is DownloadState.Completed or DownloadState.Skipped or DownloadState.Failed or DownloadState.Stopped;

    /// <summary>
    /// Adds a source (as <see cref="SourcePool.Key"/> names it), unless it is known already or its node has
    /// <see cref="TransferLimits.MaxAddressesPerNode"/> addresses in this download already.
    /// </summary>
    internal void AddSource(string source)
    {
        var node = SourcePool.Parse(source).NodeId;
        lock (_gate)
        {
            if (!_sources.Contains(source, StringComparer.Ordinal)
                && (node is null || _sources.Count(s => SourcePool.Parse(s).NodeId == node) < TransferLimits.MaxAddressesPerNode))
            {
                _sources.Add(source);
            }
        }
    }

    internal void SourceFailed(string endpoint, string reason) => _failures[endpoint] = reason;

    internal void Start()
    {
        lock (_gate)
        {
            _started = true;
            if (_state != DownloadState.Queued)
            {
                return;
            }

            _state = DownloadState.Transferring;
        }

        _clock.Start();
    }

    /// <summary>A run starts from a record that holds <paramref name="bytes"/> verified already: they count as done from the start.</summary>
    internal void Resumed(long bytes)
    {
        // Set, not added: every run (after a suspend, too) starts from the record, which holds all that was verified.
        Interlocked.Exchange(ref _bytesResumed, bytes);
        Interlocked.Exchange(ref _bytesDone, bytes);
    }

    internal void Verified(long bytes) => Interlocked.Add(ref _bytesDone, bytes);

    /// <summary>Bytes counted done were dropped (bad pieces found at the end): they are to be fetched again.</summary>
    internal void Unverified(long bytes) => Interlocked.Add(ref _bytesDone, -bytes);

    internal void SourceActive(int change) => Interlocked.Add(ref _activeSources, change);

    internal void End(DownloadState state, FileInfo? file = null, Exception? error = null)
    {
        _clock.Stop();
        lock (_gate)
        {
            _state = state;
            File = file;
            Error = error;
            _resumed?.TrySetResult();
            _resumed = null;
        }

        _ended.TrySetResult();
    }

    /// <summary>Completes once the item has ended (completed, skipped, failed or stopped).</summary>
    public Task WhenEndedAsync() => HasEnded ? Task.CompletedTask : _ended.Task;

    /// <summary>An interrupted download found on disk: what its record says, ended as <see cref="DownloadState.Stopped"/>.</summary>
    internal static DownloadItem Interrupted(byte[] hash, long size, long bytesVerified, string destination)
    {
        var item = new DownloadItem(0, hash, Path.GetFileName(destination), size, destination);
        item._bytesDone = bytesVerified;
        item._bytesResumed = bytesVerified;
        item._state = DownloadState.Stopped;
        return item;
    }

    public override string ToString() => $"{Name} ({Hash[..12]}…)";
}
