namespace P2PTransfer.Protocol;

/// <summary>A protocol message: one frame's code and payload. Each message type lives in Messages/ with its own Read.</summary>
internal interface IMessage
{
    MessageCode Code { get; }

    /// <summary>Exact number of payload bytes <see cref="WritePayload"/> writes.</summary>
    int PayloadLength { get; }

    void WritePayload(ref PayloadWriter writer);
}
