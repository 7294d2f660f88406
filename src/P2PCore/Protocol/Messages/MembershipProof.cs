namespace P2PTransfer.Protocol.Messages;

/// <summary>
/// The dialer's proof that it holds a private network's key, sent right after a Welcome that carries the server's
/// (docs/protocol.md section 5): the server takes nothing else first.
/// </summary>
internal sealed record MembershipProof(Bytes32 Proof) : IMessage
{
    public MessageCode Code => MessageCode.MembershipProof;

    public int PayloadLength => Bytes32.Length;

    public void WritePayload(ref PayloadWriter writer) => writer.WriteBytes(Proof.ToArray());

    public static MembershipProof Read(ref PayloadReader reader) => new(Bytes32.From(reader.ReadBytes(Bytes32.Length)));
}
