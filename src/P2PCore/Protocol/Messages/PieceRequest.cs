namespace P2PTransfer.Protocol.Messages;

/// <summary>Downloader → server: one piece of the file with this content.</summary>
internal sealed record PieceRequest(uint RequestId, byte[] Hash, uint Piece) : IMessage
{
    public MessageCode Code => MessageCode.PieceRequest;

    public int PayloadLength => 4 + 32 + 4;

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(RequestId);
        writer.WriteBytes(Hash);
        writer.WriteUInt32(Piece);
    }

    public static PieceRequest Read(ref PayloadReader reader) => new(reader.ReadUInt32(), reader.ReadBytes(32), reader.ReadUInt32());
}
