namespace P2PTransfer.Protocol;

/// <summary>An error with a protocol code: what went wrong on a connection or a node, in words a user can act on.</summary>
public class P2PException : Exception
{
    public P2PException(ProtocolError code, string message, Exception? inner = null) : base(message, inner) => Code = code;

    public ProtocolError Code { get; }
}
