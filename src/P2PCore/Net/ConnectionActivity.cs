namespace P2PTransfer.Net;

/// <summary>
/// A connection's clock readings at one moment (milliseconds of Environment.TickCount64), as
/// <see cref="ConnectionLiveness"/> judges them.
/// </summary>
/// <param name="LastReceived">When the last whole frame arrived.</param>
/// <param name="LastSent">When frames were last handed to the transport.</param>
/// <param name="LastLargeFrameSent">When a large frame was last handed to the transport; 0 before any.</param>
/// <param name="IsSending">Whether frames wait to be sent or are being written.</param>
internal record struct ConnectionActivity(long LastReceived, long LastSent, long LastLargeFrameSent, bool IsSending);
