namespace P2PTransfer.Common;

/// <summary>One line of a node's log.</summary>
public sealed record NodeLogEntry(DateTimeOffset Time, NodeLogLevel Level, string Message)
{
    public override string ToString() => $"{Time:HH:mm:ss.fff} {Level}: {Message}";
}
