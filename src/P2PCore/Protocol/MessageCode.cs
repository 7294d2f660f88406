namespace P2PTransfer.Protocol;

/// <summary>The request code: the first byte of every frame. Values are part of the wire protocol (docs/protocol.md).</summary>
/// <remarks>0x20-0x3F are for search, 0x40-0x5F for transfer, 0x60-0x7F for what linked servers tell each other.</remarks>
internal enum MessageCode : byte
{
    Hello = 0x01,
    Welcome = 0x02,
    Ping = 0x03,
    Pong = 0x04,
    Status = 0x05,
    Bye = 0x06,
    Error = 0x07,
    MembershipProof = 0x08,

    // Search (0x20-0x3F): client ↔ entry server, then server ↔ server.
    Search = 0x20,
    SearchCancel = 0x21,
    SearchResults = 0x22,
    SearchDone = 0x23,
    Query = 0x28,
    QueryHit = 0x29,

    // Transfer (0x40-0x5F): downloader → the server that has the file, over a client connection.
    PieceListRequest = 0x40,
    PieceList = 0x41,
    PieceRequest = 0x42,
    PieceData = 0x43,
    TransferRefused = 0x44,

    // Peers (0x60-0x7F): between linked servers, over a peer link.
    PeerExchange = 0x60,
}
