namespace P2PTransfer.Tests.Architecture.Planted.High;

/// <summary>The upper layer that <see cref="Low.Caller"/> reaches.</summary>
internal static class Counter
{
    private static int _count;

    public static int Next() => Interlocked.Increment(ref _count);
}
