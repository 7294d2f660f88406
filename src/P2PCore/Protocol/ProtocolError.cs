namespace P2PTransfer.Protocol;

/// <summary>Reason and error codes carried by Bye and Error frames (u16 on the wire).</summary>
/// <remarks>0-99: lifecycle and refusals (20-23: why a search ended, in SearchDone), 100-199: protocol violations (the connection is closed), 200-299: peer links.</remarks>
public enum ProtocolError : ushort
{
    None = 0,
    Shutdown = 1,
    NodeClosing = 2,
    NodeBusy = 3,
    Disconnected = 4,
    ConnectionLost = 5,
    Timeout = 6,
    HostNotFound = 7,
    AddressInUse = 8,
    NotP2PNode = 9,
    InvalidQuery = 10,
    TooManySearches = 11,
    UnknownFile = 12,
    PieceOutOfRange = 13,
    FileChanged = 14,
    VerificationFailed = 15,
    InsufficientSpace = 16,
    DestinationExists = 17,

    /// <summary>SearchDone: the search's timeout passed.</summary>
    SearchTimeout = 20,
    /// <summary>SearchDone: the search had maxResults results.</summary>
    SearchMaxResults = 21,
    /// <summary>SearchDone: the request reached no other server, and the entry server's own answer was sent.</summary>
    SearchComplete = 22,
    /// <summary>SearchDone: the client cancelled the search (or its connection closed).</summary>
    SearchCancelled = 23,

    /// <summary>A dial that expected one node reached another: the TLS-proven id is not the one expected.</summary>
    WrongNode = 30,

    /// <summary>Refused: the other side did not prove it holds the private network's key (or proved none, or this side has none).</summary>
    NotMember = 31,

    /// <summary>Refused: the other side is not one of the trusted nodes (-TrustedNode).</summary>
    NotTrusted = 32,

    MalformedFrame = 100,
    FrameTooLarge = 101,
    UnknownCode = 102,
    UnsupportedVersion = 103,
    BadMagic = 104,
    UnexpectedMessage = 105,
    HandshakeTimeout = 106,
    TruncatedFrame = 107,
    KeepAliveTimeout = 108,
    SendQueueFull = 109,
    ReservedFlags = 110,

    /// <summary>A Hello or Welcome names another node id than the one its sender's TLS certificate proves.</summary>
    IdentityMismatch = 120,

    SelfLink = 200,
    DuplicateLink = 201,
    StateDirectoryInUse = 202,

    /// <summary>Refused at the handshake: the dialer's address (or subnet) holds its share of the node's connections, or connects too often and is refused for a while.</summary>
    TooManyConnections = 210,
}
