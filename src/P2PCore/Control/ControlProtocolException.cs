namespace P2PTransfer.Control;

/// <summary>A control connection broke the channel's rules (size, framing, JSON, an unknown request): it is closed.</summary>
internal sealed class ControlProtocolException(string message) : Exception(message);
