namespace P2PTransfer.Index;

/// <summary>One piece of work for the maintenance loop; <see cref="Done"/> tells whoever waits for it how it ended.</summary>
/// <param name="Awaited">True when a caller waits for it (and reports its failure); a background pass's failure is logged instead.</param>
internal sealed record MaintenanceJob(Func<CancellationToken, Task> Work, bool Awaited)
{
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
