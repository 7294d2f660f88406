namespace P2PTransfer.Protocol;

/// <summary>An error with a protocol code: what went wrong on a connection or a node, in words a user can act on.</summary>
public class P2PException : Exception
{
    public P2PException(ProtocolError code, string message, Exception? inner = null) : base(message, inner) => Code = code;

    public ProtocolError Code { get; }
}

/// <summary>The peer broke the protocol (bad frame, wrong version, unexpected message); the connection is closed.</summary>
public sealed class ProtocolException(ProtocolError code, string message) : P2PException(code, message);

/// <summary>The server answered that it is closing or busy.</summary>
public sealed class NodeUnavailableException(ProtocolError code, string message) : P2PException(code, message);
