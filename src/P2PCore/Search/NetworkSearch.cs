using P2PTransfer.Common;
using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>
/// A search as its entry server sees it: gathers the responses of every server that answers and hands them to
/// the reader as they arrive, until the timeout, enough results, or a cancel. Holds a work lease, so a closing
/// node lets it finish within the drain timeout.
/// </summary>
internal sealed class NetworkSearch
{
    private readonly ResultBuffer _buffer = new();
    private readonly object _gate = new();
    private readonly Dictionary<Guid, int> _perSource = [];
    private readonly SearchOptions _options;
    private readonly SearchCounters _counters;
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenRegistration _drainRegistration;
    private readonly Action<NetworkSearch> _ended;
    private readonly TimeProvider _clock;
    private readonly long _startedAt;
    private WorkLease _lease;
    private int _results;
    private int _handingOver;
    private bool _released;
    private bool _completed;
    private SearchEndReason? _endReason;

    internal NetworkSearch(Guid requestId, FileQuery query, SearchOptions options, WorkLease lease, SearchCounters counters, Action<NetworkSearch> ended, TimeProvider clock)
    {
        _clock = clock;
        _startedAt = ClockMilliseconds.Now(clock);

        // The timeout runs on the router's clock (a simulation's virtual one, or the system's).
        _timer = ReferenceEquals(clock, TimeProvider.System) ? new CancellationTokenSource() : new CancellationTokenSource(Timeout.InfiniteTimeSpan, clock);
        RequestId = requestId;
        Query = query;
        _options = options;
        _lease = lease;
        _counters = counters;
        _ended = ended;
        MaxResults = Math.Max(1, options.MaxResults);
        Ttl = options.ClampedTtl;
        _timer.Token.Register(() => End(SearchEndReason.Timeout));
        _drainRegistration = lease.Cancellation.Register(() => End(SearchEndReason.NodeClosing));
    }

    /// <summary>The id every copy of the request carries through the network.</summary>
    public Guid RequestId { get; }

    public FileQuery Query { get; }

    public int Ttl { get; }

    public int MaxResults { get; }

    /// <summary>Results handed to the reader so far.</summary>
    public int Results
    {
        get
        {
            lock (_gate)
            {
                return _results;
            }
        }
    }

    /// <summary>Servers that answered with at least one file.</summary>
    public int Sources
    {
        get
        {
            lock (_gate)
            {
                return _perSource.Count;
            }
        }
    }

    /// <summary>Null while the search runs.</summary>
    public SearchEndReason? EndReason
    {
        get
        {
            lock (_gate)
            {
                return _endReason;
            }
        }
    }

    public TimeSpan Elapsed => TimeSpan.FromMilliseconds(ClockMilliseconds.Now(_clock) - _startedAt);

    /// <summary>Responses as they arrive; ends when the search ends. One reader.</summary>
    public IAsyncEnumerable<ResultBatch> ReadAllAsync(CancellationToken cancellationToken = default) => _buffer.ReadAllAsync(cancellationToken);

    /// <summary>Starts the clock, once the router knows the search (a zero timeout ends it at once).</summary>
    internal void StartTimer()
    {
        if (EndReason is not null)
        {
            return;
        }

        if (_options.ClampedTimeout <= TimeSpan.Zero)
        {
            End(SearchEndReason.Timeout);
            return;
        }

        _timer.CancelAfter(_options.ClampedTimeout);
    }

    /// <summary>Stops the search now (a client's cancel, a reader that has enough).</summary>
    public void Cancel() => End(SearchEndReason.Cancelled);

    /// <summary>Writes a trace line; a trace that throws never breaks the search or the worker that called it.</summary>
    internal void Trace(string line)
    {
        try
        {
            _options.Trace?.Invoke(line);
        }
        catch (Exception)
        {
            // The trace is for people watching; losing a line is better than losing the search.
        }
    }

    /// <summary>
    /// Takes a response. Cut to the results still wanted and to what one source may announce; dropped (and
    /// counted) while the reader lags too far behind; false when the search has ended. A response taken is
    /// always handed to the reader, even when another one ends the search while it is on its way: the reader
    /// sees the end only after every response counted in <see cref="Results"/>.
    /// </summary>
    internal bool TryDeliver(ResultBatch batch)
    {
        bool full;
        lock (_gate)
        {
            if (_endReason is not null)
            {
                return false;
            }

            _perSource.TryGetValue(batch.Source.NodeId, out int fromSource);
            int room = Math.Min(MaxResults - _results, SearchLimits.MaxHitsPerSource - fromSource);
            if (batch.Files.Count > room)
            {
                _counters.ResultsWereDropped(batch.Files.Count - Math.Max(room, 0));
                batch = batch with { Files = [.. batch.Files.Take(Math.Max(room, 0))] };
            }

            if (batch.Files.Count == 0)
            {
                return true;
            }

            if (!_buffer.TryReserve(batch))
            {
                // The reader does not keep up: keep memory bounded, say what was lost.
                _counters.ResultsWereDropped(batch.Files.Count);
                return true;
            }

            _perSource[batch.Source.NodeId] = fromSource + batch.Files.Count;

            _results += batch.Files.Count;
            full = _results >= MaxResults;

            // Counted, so an end that comes before it is handed over waits for it (see HandedOver).
            _handingOver++;
        }

        try
        {
            // Traced outside the lock (a trace may do anything) but before the reader can see the batch, so a
            // reader that stops at it still gets its line.
            Trace(batch.Describe());
            _buffer.Publish(batch);
            _counters.ResponseDelivered();
        }
        finally
        {
            HandedOver();
        }

        if (full)
        {
            End(SearchEndReason.MaxResults);
        }

        return true;
    }

    /// <summary>A response taken by <see cref="TryDeliver"/> is with the reader; the last one completes an ended search.</summary>
    private void HandedOver()
    {
        lock (_gate)
        {
            _handingOver--;
            if (!CompleteIfEnded())
            {
                return;
            }
        }

        _buffer.Complete();
    }

    /// <summary>
    /// Under the lock: true once (the caller then completes the buffer) when the search has ended and been released
    /// and nothing is on its way to the reader.
    /// </summary>
    private bool CompleteIfEnded()
    {
        if (!_released || _handingOver > 0 || _completed)
        {
            return false;
        }

        _completed = true;
        return true;
    }

    internal void End(SearchEndReason reason)
    {
        int results;
        int sources;
        lock (_gate)
        {
            if (_endReason is not null)
            {
                return;
            }

            // From here TryDeliver takes nothing new; a response it took before is still handed over, and the
            // last one handed over completes the reader's channel (HandedOver) if that is after this.
            _endReason = reason;
            results = _results;
            sources = _perSource.Count;
        }

        // Traced before the reader can see the end, so the line is written before the command returns.
        Trace($"search {RequestId.ToString()[..8]} ended ({reason}) after {Elapsed.TotalSeconds:0.###} s: {results} result(s) from {sources} source(s)");

        // Forgotten and released before the reader can see the end: whoever sees it ended finds the node idle.
        _ended(this);
        _timer.Dispose();
        _drainRegistration.Dispose();
        _lease.Dispose();
        bool complete;
        lock (_gate)
        {
            _released = true;
            complete = CompleteIfEnded();
        }

        if (complete)
        {
            _buffer.Complete();
        }
    }
}
