namespace P2PTransfer.Index;

/// <summary>Progress as read from the index, and when (<see cref="Environment.TickCount64"/>).</summary>
internal sealed record CachedProgress(IndexProgress Value, long Ticks);
