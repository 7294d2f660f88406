namespace P2PTransfer.Net;

/// <summary>What keep-alive does with a connection on one tick.</summary>
internal enum KeepAliveStep
{
    /// <summary>Nothing: the connection is alive, or its ping is still awaited.</summary>
    Wait,
    /// <summary>It has been quiet long enough: send a ping.</summary>
    Ping,
    /// <summary>Its ping stayed unanswered until the dead-after time, and it is not taking bulk data: close it.</summary>
    Close,
}
