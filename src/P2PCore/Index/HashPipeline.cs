using System.Collections.Concurrent;
using System.Threading.Channels;
using P2PTransfer.Common;

namespace P2PTransfer.Index;

/// <summary>
/// Hashes the files the index is waiting for. A feeder reads rows waiting for hashing from SQLite (the index is the
/// queue: reconciles only write rows and <see cref="Signal"/>, so sharing never waits for hashing and pending work
/// survives a crash) into a bounded channel; a bounded number of workers hash; one writer stores the results in
/// batches, guarded by size and last-write time, so a file that changed meanwhile stays pending.
/// </summary>
internal sealed class HashPipeline
{
    private const int FeedBatch = 256;
    private const int OutcomeBatch = 512;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly IndexDatabase _db;
    private readonly NodeLog _log;
    private readonly IndexCounters _counters;
    private readonly Func<IReadOnlyDictionary<long, ShareRoot>> _roots;
    private readonly Func<HashJob, bool> _stillShared;
    private readonly Action _stored;
    private readonly Func<string, long, CancellationToken, Task>? _pieceRead;
    private readonly Channel<HashJob> _jobs = Channel.CreateBounded<HashJob>(new BoundedChannelOptions(FeedBatch));
    private readonly Channel<(HashJob Job, HashOutcome Outcome)> _outcomes = Channel.CreateBounded<(HashJob, HashOutcome)>(new BoundedChannelOptions(1024) { SingleReader = true });
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<long, HashJob> _queued = new();

    // Rows the feeder skipped because an older job for them was still queued: fed again when that job leaves.
    private readonly ConcurrentDictionary<long, byte> _refeed = new();

    // Rows stored since the feeder's current sweep began: a batch read before they were stored must not feed them again.
    private readonly ConcurrentDictionary<long, (long Size, long Modified)> _storedThisSweep = new();
    private int _feeding;
    private long _rewinds;

    /// <param name="roots">The shared roots by id, as they are now.</param>
    /// <param name="stillShared">False for a job whose file was unpublished while it waited.</param>
    /// <param name="stored">Called after each batch of results is stored.</param>
    /// <param name="pieceRead">Awaited after each piece a worker reads (<see cref="IndexOptions.PieceRead"/>).</param>
    public HashPipeline(IndexDatabase db, NodeLog log, IndexCounters counters, Func<IReadOnlyDictionary<long, ShareRoot>> roots, Func<HashJob, bool> stillShared, Action stored, Func<string, long, CancellationToken, Task>? pieceRead = null)
    {
        _db = db;
        _log = log;
        _counters = counters;
        _roots = roots;
        _stillShared = stillShared;
        _stored = stored;
        _pieceRead = pieceRead;
    }

    /// <summary>
    /// True while the feeder has a signal or a sweep under way, or jobs are queued. Read in hand-off order (signal,
    /// feeder, jobs); each hand-off marks the next stage before clearing the previous one.
    /// </summary>
    public bool IsBusy => _signal.Reader.Count > 0 || Volatile.Read(ref _feeding) == 1 || !_queued.IsEmpty;

    /// <summary>Counts steps back (a job asking the feeder to try a row again): a busy check that saw one reads again.</summary>
    public long Rewinds => Interlocked.Read(ref _rewinds);

    public void Start(BackgroundTasks tasks, int workers, CancellationToken stopping)
    {
        for (var i = 0; i < Math.Max(1, workers); i++)
        {
            tasks.Run("hash worker", () => WorkerAsync(stopping));
        }

        tasks.Run("index writer", () => WriterAsync(stopping));
        tasks.Run("hash feeder", () => FeederAsync(stopping));
    }

    /// <summary>Rows wait for hashing: the feeder sweeps the index for them.</summary>
    public void Signal()
    {
        _signal.Writer.TryWrite(true);
        Interlocked.Increment(ref _rewinds);
    }

    /// <summary>Ends the loops (after the index's stop token is cancelled).</summary>
    public void Complete()
    {
        _signal.Writer.TryComplete();
        _jobs.Writer.TryComplete();
        _outcomes.Writer.TryComplete();
    }

    private async Task FeederAsync(CancellationToken token)
    {
        try
        {
            while (await _signal.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                Volatile.Write(ref _feeding, 1);
                _signal.Reader.TryRead(out _);
                try
                {
                    await SweepAsync(token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException and not ChannelClosedException)
                {
                    _log.Write(NodeLogLevel.Error, $"could not read files waiting for hashing: {e.Message}; trying again shortly");
                    await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                    Signal();
                }
                finally
                {
                    Volatile.Write(ref _feeding, 0);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    /// <summary>Feeds every row waiting for hashing, in id order, that no job holds already.</summary>
    private async Task SweepAsync(CancellationToken token)
    {
        long after = 0;
        _storedThisSweep.Clear();
        while (true)
        {
            var batch = await Task.Run(() => _db.LoadPending(after, FeedBatch), token).ConfigureAwait(false);
            if (batch.Count == 0)
            {
                return;
            }

            var roots = _roots();
            foreach (var row in batch)
            {
                after = row.Id;
                if (!roots.TryGetValue(row.RootId, out var root))
                {
                    continue;
                }

                var job = new HashJob(row.Id, root.Id, root.LocalPath(row.StoredPath), row.Size, row.Modified, row.PreviousError is not null);
                if (!_queued.TryAdd(row.Id, job))
                {
                    if (_queued.TryGetValue(row.Id, out var older) && (older.Size, older.Modified) != (row.Size, row.Modified))
                    {
                        _refeed[row.Id] = 0;
                    }

                    continue;
                }

                // Checked after claiming the row: a result stored between this batch's read and now wins.
                if (_storedThisSweep.TryGetValue(row.Id, out var stored) && stored == (row.Size, row.Modified))
                {
                    _queued.TryRemove(KeyValuePair.Create(row.Id, job));
                    continue;
                }

                await _jobs.Writer.WriteAsync(job, token).ConfigureAwait(false);
            }
        }
    }

    private async Task WorkerAsync(CancellationToken token)
    {
        try
        {
            await foreach (var job in _jobs.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                HashOutcome? outcome = null;
                try
                {
                    if (!_stillShared(job))
                    {
                        // Unpublished while it waited: not read at all.
                        Release(job);
                        continue;
                    }

                    Func<long, CancellationToken, Task>? pieceRead = _pieceRead is { } hook ? (read, t) => hook(job.FullPath, read, t) : null;
                    var digest = await FileHasher.HashAsync(job.FullPath, job.Size, job.Modified, token, pieceRead).ConfigureAwait(false);
                    _counters.Hashed(job.Size);
                    outcome = job.Outcome(digest, null);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception e) when (e is FileChangedException or FileNotFoundException or DirectoryNotFoundException)
                {
                    // Changed, renamed or deleted since it was found: the change notification or the next pass sees to it.
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _counters.Unreadable();
                    if (!job.WasUnreadable)
                    {
                        _log.Write(NodeLogLevel.Warning, $"cannot read '{job.FullPath}': {e.Message}; it is not shared until it can be read");
                    }

                    outcome = job.Outcome(null, e.Message);
                }
                catch (Exception e)
                {
                    _log.Write(NodeLogLevel.Error, $"hashing '{job.FullPath}' failed: {e.Message}");
                    outcome = job.Outcome(null, e.Message);
                }

                if (outcome is null)
                {
                    Release(job);
                }
                else
                {
                    await _outcomes.Writer.WriteAsync((job, outcome), token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
        }
    }

    /// <summary>Stores hashing outcomes in batches: one transaction per batch keeps 100,000 small files fast.</summary>
    private async Task WriterAsync(CancellationToken token)
    {
        var batch = new List<(HashJob Job, HashOutcome Outcome)>(OutcomeBatch);
        var reader = _outcomes.Reader;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (batch.Count < OutcomeBatch && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                var stored = await StoreWithRetryAsync([.. batch.Select(b => b.Outcome)], token).ConfigureAwait(false);
                foreach (var (job, _) in batch)
                {
                    if (stored.Contains(job.Id))
                    {
                        _storedThisSweep[job.Id] = (job.Size, job.Modified);
                    }
                    else
                    {
                        // The file changed while it was hashed: its row waits again.
                        _refeed[job.Id] = 0;
                    }

                    Release(job);
                }

                _stored();
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping: keep what was already hashed, so a normal restart does not read it again.
            while (reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                _db.StoreResults([.. batch.Select(b => b.Outcome)]);
            }
            catch (Exception e)
            {
                _log.Write(NodeLogLevel.Verbose, $"{batch.Count} hash result(s) not kept at stop ({e.Message}); they are hashed again at the next start");
            }
        }
    }

    /// <summary>Stores results, retrying (disk full, I/O error) until it works or the index stops: hashes are never thrown away.</summary>
    private async Task<HashSet<long>> StoreWithRetryAsync(List<HashOutcome> outcomes, CancellationToken token)
    {
        for (var failures = 0; ; failures++)
        {
            try
            {
                return await Task.Run(() => _db.StoreResults(outcomes), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (failures == 0)
                {
                    _log.Write(NodeLogLevel.Error, $"could not store {outcomes.Count} hash result(s): {e.Message}; retrying every {RetryDelay.TotalSeconds:0} s");
                }

                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A job leaves the queue; if the feeder skipped its row meanwhile (it changed), the feeder looks again.</summary>
    private void Release(HashJob job)
    {
        if (_refeed.TryRemove(job.Id, out _))
        {
            Signal();
        }

        _queued.TryRemove(KeyValuePair.Create(job.Id, job));
    }
}
