namespace P2PTransfer.Protocol.Messages;

/// <summary>The answer to a Ping.</summary>
internal sealed record Pong(ulong Nonce) : IMessage
{
    public MessageCode Code => MessageCode.Pong;

    public int PayloadLength => 8;

    public void WritePayload(ref PayloadWriter writer) => writer.WriteUInt64(Nonce);

    public static Pong Read(ref PayloadReader reader) => new(reader.ReadUInt64());
}
