using System.Diagnostics;

namespace P2PTransfer.Transfer;

/// <summary>
/// One content (one hash) of a download batch: its name, its sources (more may join while it runs) and its progress,
/// readable from any thread while the engine works.
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
    private DownloadState _state;

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
            _state = DownloadState.Running;
        }

        _clock.Start();
    }

    internal void Resumed(long bytes)
    {
        Interlocked.Add(ref _bytesResumed, bytes);
        Interlocked.Add(ref _bytesDone, bytes);
    }

    internal void Verified(long bytes) => Interlocked.Add(ref _bytesDone, bytes);

    internal void SourceActive(int change) => Interlocked.Add(ref _activeSources, change);

    internal void End(DownloadState state, FileInfo? file = null, Exception? error = null)
    {
        _clock.Stop();
        lock (_gate)
        {
            _state = state;
            File = file;
            Error = error;
        }
    }

    public override string ToString() => $"{Name} ({Hash[..12]}…)";
}
