using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace P2PTransfer.Control;

/// <summary>
/// The control channel's messages: a 4-byte big-endian length, then that many bytes of UTF-8 JSON holding one
/// object (docs/control.md). Lengths are checked from the header, before anything is read or allocated.
/// </summary>
internal static class ControlFrames
{
    /// <summary>The largest request a node reads; a larger one closes the connection.</summary>
    public const int MaxRequestBytes = 64 * 1024;

    /// <summary>The largest message a node sends (one item of a reply); a client refuses a larger one.</summary>
    public const int MaxMessageBytes = 1024 * 1024;

    public static async Task WriteAsync(Stream stream, JsonObject message, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(message);
        if (body.Length > MaxMessageBytes)
        {
            throw new ControlProtocolException($"a control message of {body.Length} bytes is larger than the {MaxMessageBytes} allowed");
        }

        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The next message; null when the stream ends cleanly between messages. Throws <see cref="ControlProtocolException"/> on anything else.</summary>
    public static async Task<JsonObject?> ReadAsync(Stream stream, int maxBytes, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        int got = await ReadFullyAsync(stream, header, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < header.Length)
        {
            throw new ControlProtocolException("the control connection ended inside a message header");
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length <= 0 || length > maxBytes)
        {
            throw new ControlProtocolException($"a control message of {(uint)length} bytes is refused (1 to {maxBytes} allowed)");
        }

        var body = new byte[length];
        if (await ReadFullyAsync(stream, body, cancellationToken).ConfigureAwait(false) < length)
        {
            throw new ControlProtocolException("the control connection ended inside a message");
        }

        try
        {
            return JsonNode.Parse(body) as JsonObject ?? throw new ControlProtocolException("a control message must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ControlProtocolException($"a control message is not JSON: {ex.Message}");
        }
    }

    private static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
