using P2PTransfer.Common;

namespace P2PTransfer.Transfer;

/// <summary>
/// The -MaxBytesPerSecond of one download command, shared by every file and source in it. A piece is paid for before
/// it is requested. A source with nothing under way that finds the budget spent queues for its turn, first come first
/// served, so each source and file gets its share rather than whichever worker happens to wake first.
/// </summary>
internal sealed class Bandwidth(long bytesPerSecond)
{
    // A quarter of a second of burst; beyond it the budget goes into debt by one piece and is paid back in time.
    private readonly RateLimit _budget = new(bytesPerSecond, bytesPerSecond / 4.0);
    private readonly SemaphoreSlim _turn = new(1, 1);
    private int _queued;

    /// <summary>Callers waiting for their turn or holding it.</summary>
    public int Waiting => Volatile.Read(ref _queued);

    /// <summary>Pays for <paramref name="bytes"/> at once when nobody waits for a turn and the budget is not in debt.</summary>
    public bool TryTake(long bytes) => Waiting == 0 && _budget.TryTakeOnCredit(bytes, out _);

    /// <summary>
    /// Waits until it is this caller's turn and the budget is out of debt. The caller then pays with
    /// <see cref="Turn.Take"/> (or takes nothing) and disposes the turn so the next in line may go.
    /// </summary>
    public async Task<Turn> WaitTurnAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _queued);
        try
        {
            await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _queued);
            throw;
        }

        var turn = new Turn(this);
        try
        {
            while (!_budget.TryTakeOnCredit(0, out var wait))
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            return turn;
        }
        catch
        {
            turn.Dispose();
            throw;
        }
    }

    /// <summary>One caller's turn at the budget.</summary>
    public readonly struct Turn(Bandwidth owner) : IDisposable
    {
        /// <summary>Pays for <paramref name="bytes"/>, going into debt if they are more than is left.</summary>
        public void Take(long bytes) => owner._budget.Charge(bytes);

        public void Dispose()
        {
            Interlocked.Decrement(ref owner._queued);
            owner._turn.Release();
        }
    }
}
