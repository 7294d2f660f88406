namespace P2PTransfer.Protocol.Messages;

/// <summary>Sent by a server to everyone connected when its availability changes (for example: scheduled for closing).</summary>
internal sealed record Status(NodeAvailability Availability) : IMessage
{
    public MessageCode Code => MessageCode.Status;

    public int PayloadLength => 1;

    public void WritePayload(ref PayloadWriter writer) => writer.WriteByte((byte)Availability);

    public static Status Read(ref PayloadReader reader) => new(reader.ReadEnum<NodeAvailability>("availability"));
}
