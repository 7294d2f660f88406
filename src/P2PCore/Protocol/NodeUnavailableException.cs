namespace P2PTransfer.Protocol;

/// <summary>The server answered that it is closing or busy.</summary>
public sealed class NodeUnavailableException(ProtocolError code, string message) : P2PException(code, message);
