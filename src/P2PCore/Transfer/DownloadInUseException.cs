using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>Another download (in this process or another) is writing to the same destination right now.</summary>
public sealed class DownloadInUseException(string path, Exception inner)
    : P2PException(ProtocolError.DestinationExists, $"'{path}' is in use by another download to the same destination", inner);
