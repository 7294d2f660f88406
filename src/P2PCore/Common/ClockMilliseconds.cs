namespace P2PTransfer.Common;

/// <summary>
/// Milliseconds of a monotonic clock from a <see cref="TimeProvider"/>: the system's is read as
/// <see cref="Environment.TickCount64"/>, as the node always measured time; any other (a simulation's virtual
/// clock) from its own timestamps.
/// </summary>
internal static class ClockMilliseconds
{
    public static long Now(TimeProvider clock) => ReferenceEquals(clock, TimeProvider.System)
        ? Environment.TickCount64
        : (long)clock.GetElapsedTime(0, clock.GetTimestamp()).TotalMilliseconds;
}
