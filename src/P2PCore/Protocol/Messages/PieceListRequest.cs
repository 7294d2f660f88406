namespace P2PTransfer.Protocol.Messages;

/// <summary>Downloader → server: the piece hashes of the file with this content, from <see cref="FirstPiece"/> on.</summary>
internal sealed record PieceListRequest(uint RequestId, byte[] Hash, uint FirstPiece) : IMessage
{
    public MessageCode Code => MessageCode.PieceListRequest;

    public int PayloadLength => 4 + 32 + 4;

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(RequestId);
        writer.WriteBytes(Hash);
        writer.WriteUInt32(FirstPiece);
    }

    public static PieceListRequest Read(ref PayloadReader reader) => new(reader.ReadUInt32(), reader.ReadBytes(32), reader.ReadUInt32());
}
