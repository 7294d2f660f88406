namespace P2PTransfer.Index;

/// <summary>A background pass of which at most one waits in the queue; further wishes join it.</summary>
internal sealed class OncePass
{
    private int _queued;

    public bool TryClaim() => Interlocked.CompareExchange(ref _queued, 1, 0) == 0;

    /// <summary>The job's work: it frees the claim as it starts, so changes noted while it runs queue the next pass.</summary>
    public Func<CancellationToken, Task> Then(Func<CancellationToken, Task> work) => token =>
    {
        Volatile.Write(ref _queued, 0);
        return work(token);
    };
}
