namespace P2PTransfer.Protocol.Messages;

/// <summary>Server → downloader: the file's size and up to <see cref="ProtocolLimits.MaxPieceHashesPerFrame"/> piece hashes.</summary>
internal sealed record PieceList(uint RequestId, long Size, uint FirstPiece, byte[] Hashes) : IMessage
{
    public MessageCode Code => MessageCode.PieceList;

    public int PayloadLength => 4 + 8 + 4 + 4 + Hashes.Length;

    public int Count => Hashes.Length / 32;

    public void WritePayload(ref PayloadWriter writer)
    {
        writer.WriteUInt32(RequestId);
        writer.WriteUInt64((ulong)Size);
        writer.WriteUInt32(FirstPiece);
        writer.WriteUInt32((uint)Count);
        writer.WriteBytes(Hashes);
    }

    public static PieceList Read(ref PayloadReader reader)
    {
        uint id = reader.ReadUInt32();
        ulong size = reader.ReadUInt64();
        if (size > long.MaxValue)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"PieceList size {size} is above 2^63-1");
        }

        uint first = reader.ReadUInt32();
        uint count = reader.ReadUInt32();
        if (count > ProtocolLimits.MaxPieceHashesPerFrame)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"PieceList holds {count} hashes; the limit is {ProtocolLimits.MaxPieceHashesPerFrame}");
        }

        return new PieceList(id, (long)size, first, reader.ReadBytes((int)count * 32));
    }
}
