namespace P2PTransfer.Common;

/// <summary>The recent events of a node, bounded, plus an event for live subscribers (Register-ObjectEvent).</summary>
public sealed class NodeLog
{
    private const int Capacity = 512;
    private readonly Queue<NodeLogEntry> _entries = new();

    /// <summary>Raised on an engine thread for every entry.</summary>
    public event EventHandler<NodeLogEntry>? Written;

    internal void Write(NodeLogLevel level, string message)
    {
        var entry = new NodeLogEntry(DateTimeOffset.Now, level, message);
        lock (_entries)
        {
            if (_entries.Count == Capacity)
            {
                _entries.Dequeue();
            }

            _entries.Enqueue(entry);
        }

        Written?.Invoke(this, entry);
    }

    public IReadOnlyList<NodeLogEntry> Recent()
    {
        lock (_entries)
        {
            return [.. _entries];
        }
    }
}
