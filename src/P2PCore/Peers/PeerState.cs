namespace P2PTransfer.Peers;

/// <summary>A link as seen from this node.</summary>
public enum PeerState
{
    /// <summary>Up and available.</summary>
    Connected,
    /// <summary>The remote announced it is closing: no new requests are sent to it.</summary>
    RemoteClosing,
    /// <summary>Gone.</summary>
    Disconnected,
}
