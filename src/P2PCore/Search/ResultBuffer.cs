using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace P2PTransfer.Search;

/// <summary>
/// Responses waiting for one reader, bounded in results and in memory (<see cref="SearchLimits.MaxBufferedResults"/>,
/// <see cref="SearchLimits.MaxBufferedBytes"/>): the entry server keeps one per search for its reader, and a pure
/// client one per search for its caller, since neither side of the wire waits for the other.
/// </summary>
internal sealed class ResultBuffer
{
    private readonly Channel<ResultBatch> _batches = Channel.CreateUnbounded<ResultBatch>(new UnboundedChannelOptions { SingleReader = true });
    private int _files;
    private long _bytes;

    /// <summary>True while results wait for the reader.</summary>
    public bool HasBuffered => Volatile.Read(ref _files) > 0;

    /// <summary>Completes (with the reader's error, if any) once the buffer is completed and read out.</summary>
    public Task Completion => _batches.Reader.Completion;

    /// <summary>
    /// Counts a batch in, unless it would take the buffer past its bounds (false: the reader lags too far behind
    /// and the batch is to be dropped). <see cref="Publish"/> then hands it over; the two steps let the caller do
    /// what must come first (a trace line) in between.
    /// </summary>
    public bool TryReserve(ResultBatch batch)
    {
        long bytes = batch.MemorySize;
        if (Volatile.Read(ref _files) + batch.Files.Count > SearchLimits.MaxBufferedResults
            || Interlocked.Read(ref _bytes) + bytes > SearchLimits.MaxBufferedBytes)
        {
            return false;
        }

        Interlocked.Add(ref _files, batch.Files.Count);
        Interlocked.Add(ref _bytes, bytes);
        return true;
    }

    public void Publish(ResultBatch batch) => _batches.Writer.TryWrite(batch);

    public bool TryRead(out ResultBatch batch)
    {
        if (!_batches.Reader.TryRead(out batch!))
        {
            return false;
        }

        Interlocked.Add(ref _files, -batch.Files.Count);
        Interlocked.Add(ref _bytes, -batch.MemorySize);
        return true;
    }

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _batches.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Everything published, as it comes, until the buffer is completed.</summary>
    public async IAsyncEnumerable<ResultBatch> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out var batch))
            {
                yield return batch;
            }
        }
    }

    public void Complete(Exception? error = null) => _batches.Writer.TryComplete(error);
}
