namespace P2PTransfer.Protocol;

/// <summary>The peer broke the protocol (bad frame, wrong version, unexpected message); the connection is closed.</summary>
internal sealed class ProtocolException(ProtocolError code, string message) : P2PException(code, message);
