namespace P2PTransfer.Protocol;

/// <summary>What a server says of itself in Welcome and Status frames.</summary>
public enum NodeAvailability : byte
{
    /// <summary>Accepting connections and requests.</summary>
    Available = 0,
    /// <summary>Scheduled for closing: finishing work under way, refusing new work.</summary>
    Closing = 1,
    /// <summary>Connection limit reached; try later or another node.</summary>
    Busy = 2,
}
