namespace P2PTransfer.Protocol.Messages;

/// <summary>Client → entry server: stop a search early (Ctrl+C, enough results). The server ends it with SearchDone.</summary>
internal sealed record SearchCancel(uint SearchId) : IMessage
{
    public MessageCode Code => MessageCode.SearchCancel;

    public int PayloadLength => 4;

    public void WritePayload(ref PayloadWriter writer) => writer.WriteUInt32(SearchId);

    public static SearchCancel Read(ref PayloadReader reader) => new(reader.ReadUInt32());
}
