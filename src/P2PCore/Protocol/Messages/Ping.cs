namespace P2PTransfer.Protocol.Messages;

/// <summary>Keep-alive and round-trip probe; answered by a Pong with the same nonce.</summary>
internal sealed record Ping(ulong Nonce) : IMessage
{
    public MessageCode Code => MessageCode.Ping;

    public int PayloadLength => 8;

    public void WritePayload(ref PayloadWriter writer) => writer.WriteUInt64(Nonce);

    public static Ping Read(ref PayloadReader reader) => new(reader.ReadUInt64());
}
