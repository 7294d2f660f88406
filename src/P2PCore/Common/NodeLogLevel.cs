namespace P2PTransfer.Common;

public enum NodeLogLevel
{
    Verbose,
    Information,
    Warning,
    Error,
}
