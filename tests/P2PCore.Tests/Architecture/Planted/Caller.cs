namespace P2PTransfer.Tests.Architecture.Planted.Low;

/// <summary>A lower layer that reaches up only inside a method body: what <see cref="LayerGraph"/> must still see.</summary>
internal static class Caller
{
    public static int CountUp() => High.Counter.Next();
}
