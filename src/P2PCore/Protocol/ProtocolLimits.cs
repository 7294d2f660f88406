namespace P2PTransfer.Protocol;

/// <summary>Every limit of the wire protocol, in one place (docs/protocol.md, "Limits").</summary>
internal static class ProtocolLimits
{
    /// <summary>The lowest protocol version this build speaks.</summary>
    public const ushort MinVersion = 2;

    /// <summary>The highest protocol version this build speaks: what its Hello offers last and its Welcome chooses first.</summary>
    public const ushort MaxVersion = 2;

    /// <summary>The protocol version of this build's frames and messages.</summary>
    public const ushort Version = MaxVersion;

    /// <summary>The capability bits this build sets in Hello and Welcome: none are defined in version 2.</summary>
    public const ulong Capabilities = 0;

    /// <summary>Frame flag bit 0: a receiver that does not know the frame's code reads and ignores it.</summary>
    public const byte OptionalFlag = 0x01;

    /// <summary>Largest payload of a frame with an unknown code and <see cref="OptionalFlag"/> that a receiver reads (to ignore it).</summary>
    public const int MaxUnknownOptionalPayload = 64 * 1024;

    /// <summary>
    /// The version a connection speaks when the dialer offers <paramref name="min"/> to <paramref name="max"/>: the
    /// highest both sides speak; null when they have none in common (or the range is empty).
    /// </summary>
    public static ushort? Negotiate(ushort min, ushort max, ushort ownMin = MinVersion, ushort ownMax = MaxVersion)
    {
        ushort highest = Math.Min(max, ownMax);
        return highest >= Math.Max(min, ownMin) ? highest : null;
    }

    /// <summary>The port a node listens on when none is given, and the port of an endpoint written without one.</summary>
    public const int DefaultPort = 47100;

    /// <summary>"P2PT": the first four payload bytes of Hello.</summary>
    public const uint Magic = 0x50325054;

    /// <summary>code (1) + flags (1) + payload length (4).</summary>
    public const int FrameHeaderLength = 6;

    /// <summary>Piece size of protocol version 1: 1 MiB, the unit of requests, verification and resume.</summary>
    public const int PieceSize = 1 << 20;

    /// <summary>Piece hashes in one PieceList frame (512 KiB of hashes: a 16 GiB file's list in one frame).</summary>
    public const int MaxPieceHashesPerFrame = 16384;

    /// <summary>Pieces one connection may have requested and not yet answered; the next is refused NodeBusy.</summary>
    public const int MaxPiecesInFlight = 64;

    /// <summary>Hits are sent in frames of about this many bytes, so no frame holds up a link for long.</summary>
    public const int HitBytesPerFrame = 64 * 1024;

    /// <summary>Largest payload accepted once the handshake is done: a PieceData with a whole piece.</summary>
    public const int MaxPayload = 8 + PieceSize;

    /// <summary>Largest payload accepted before the handshake is done: the largest Error (a refusal).</summary>
    public const int MaxHandshakePayload = 2 + 2 + MaxMessageBytes;

    public const int MaxNameBytes = 64;
    public const int MaxEndpointBytes = 262;
    public const int MaxMessageBytes = 1024;

    /// <summary>
    /// Largest payload each message can have: a header announcing more is refused before anything is buffered,
    /// so a connection can never make the node hold more than a few kilobytes for a control message.
    /// </summary>
    public static int MaxPayloadFor(MessageCode code) => code switch
    {
        MessageCode.Hello => 4 + 2 + 2 + 1 + 8 + Bytes32.Length + 16 + 2 + MaxEndpointBytes + 2 + MaxNameBytes,
        MessageCode.Welcome => 2 + 1 + 8 + Bytes32.Length + 16 + 2 + MaxEndpointBytes + 2 + MaxNameBytes + 1 + Bytes32.Length,
        MessageCode.MembershipProof => Bytes32.Length,
        MessageCode.Ping or MessageCode.Pong => 8,
        MessageCode.Status => 1,
        MessageCode.Bye or MessageCode.Error => 2 + 2 + MaxMessageBytes,
        MessageCode.Search => 4 + 1 + 4 + 4 + QueryWire.MaxLength,
        MessageCode.SearchCancel => 4,
        MessageCode.SearchResults => 4 + MaxSourceBytes + 1 + 1 + MaxBacktraceBytes + Messages.HitList.MaxLength,
        MessageCode.SearchDone => 4 + 2 + 4 + 4 + 2 + MaxMessageBytes,
        MessageCode.Query => 16 + 1 + 4 + MaxBacktraceBytes + MaxKeyProofBytes + QueryWire.MaxLength,
        MessageCode.QueryHit => 16 + 2 + 1 + MaxBacktraceBytes + MaxSourceBytes + Messages.HitList.MaxLength,
        MessageCode.PieceListRequest or MessageCode.PieceRequest => 4 + 32 + 4,
        MessageCode.PieceList => 4 + 8 + 4 + 4 + (MaxPieceHashesPerFrame * 32),
        MessageCode.PieceData => 8 + PieceSize,
        MessageCode.TransferRefused => 4 + 2 + 2 + MaxMessageBytes,
        MessageCode.PeerExchange => 1 + (Messages.PeerExchange.MaxPeers * (16 + 2 + MaxEndpointBytes)),
        _ => MaxPayload,
    };

    /// <summary>A backtrace stack at its largest: count, then node id and endpoint per server.</summary>
    public const int MaxBacktraceBytes = 1 + (BacktraceStack.MaxDepth * (16 + 2 + MaxEndpointBytes));

    /// <summary>A source at its largest: node id, name, endpoint, public key and signature.</summary>
    public const int MaxSourceBytes = 16 + 2 + MaxNameBytes + 2 + MaxEndpointBytes + MaxKeyProofBytes;

    /// <summary>Largest public key a source or a Query's entry server may carry (a P-256 SubjectPublicKeyInfo is 91 bytes).</summary>
    public const int MaxPublicKeyBytes = 128;

    /// <summary>A public key and its signature at their largest: length, key, 64-byte signature.</summary>
    public const int MaxKeyProofBytes = 2 + MaxPublicKeyBytes + KeyProof.SignatureLength;

    /// <summary>Frames that may wait in one connection's send queue.</summary>
    public const int SendQueueCapacity = 256;
}
