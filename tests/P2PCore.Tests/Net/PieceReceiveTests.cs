using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using static P2PTransfer.Tests.Transfer.TransferFixtures;

namespace P2PTransfer.Tests.Net;

/// <summary>
/// A piece whose frame is not whole when its header arrives is read from the transport straight into the piece's
/// buffer (past the frame reader's pipe): its bytes, what follows it, and a connection that breaks in its middle.
/// </summary>
public class PieceReceiveTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);

    private static byte[] PieceFrame(uint requestId, uint piece, int length, out byte[] data)
    {
        data = Content(length, length);
        return FrameCodec.ToArray(PieceData.FromBytes(requestId, piece, data));
    }

    /// <summary>Writes the frame's first bytes and waits until the reader has seen them (it then reads the rest past the pipe).</summary>
    private static async Task SendStartAsync(Stream wire, FrameConnection reader, ReadOnlyMemory<byte> start)
    {
        await wire.WriteAsync(start);
        await wire.FlushAsync();
        Assert.True(await Eventually.TrueAsync(() => reader.LastLargeFrameProgress != 0, Within), "the reader never saw the piece's first bytes");
    }

    [Fact]
    public async Task A_piece_arriving_in_small_parts_is_received_whole_and_the_frames_after_it_are_read_as_frames()
    {
        var (a, b) = InMemoryTransport.Pair();
        await using var reader = new FrameConnection(b, 256 * 1024);
        var frame = PieceFrame(7, 3, ProtocolLimits.PieceSize, out var data);
        var ping = FrameCodec.ToArray(new Ping(42));

        var receiving = reader.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask();
        await SendStartAsync(a.Stream, reader, frame.AsMemory(0, 1000));
        // The rest in odd sizes, the next frame in the same write as the piece's last bytes.
        var rest = frame.AsMemory(1000).ToArray().Concat(ping).ToArray();
        for (int sent = 0; sent < rest.Length; sent += 7001)
        {
            await a.Stream.WriteAsync(rest.AsMemory(sent, Math.Min(7001, rest.Length - sent)));
            await a.Stream.FlushAsync();
        }

        var piece = Assert.IsType<PieceData>(await receiving.WaitAsync(Within));
        Assert.Equal((7u, 3u, ProtocolLimits.PieceSize), (piece.RequestId, piece.Piece, piece.Length));
        Assert.True(piece.Data.Span.SequenceEqual(data), "the piece's bytes differ from those sent");
        piece.Release();
        Assert.Equal(42UL, Assert.IsType<Ping>(await reader.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within)).Nonce);
        Assert.Equal(frame.Length + ping.Length, reader.Counters.BytesReceived);
    }

    [Fact]
    public async Task A_piece_over_TLS_arrives_whole_with_the_frame_after_it()
    {
        var (a, b) = InMemoryTransport.Pair();
        var dialerCredentials = new NodeCredentials(P2PTransfer.Identity.NodeKey.CreateEphemeral());
        var serverCredentials = new NodeCredentials(P2PTransfer.Identity.NodeKey.CreateEphemeral());
        var accepting = Handshake.SecureAsync(b, serverCredentials, CancellationToken.None);
        var dialer = await TlsConnection.ConnectAsync(a, dialerCredentials, "memory:b", CancellationToken.None).WaitAsync(Within);
        await using var sender = new FrameConnection(dialer);
        await using var reader = new FrameConnection(await accepting.WaitAsync(Within), 256 * 1024);
        var sent = Enumerable.Range(0, 3).Select(i => Content(ProtocolLimits.PieceSize - i, i)).ToList();

        foreach (var bytes in sent)
        {
            await sender.SendAsync(PieceData.FromBytes(9, 9, bytes), CancellationToken.None);
        }

        await sender.SendAsync(new Ping(5), CancellationToken.None);
        foreach (var bytes in sent)
        {
            var piece = Assert.IsType<PieceData>(await reader.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within));
            Assert.True(piece.Data.Span.SequenceEqual(bytes), $"piece of {bytes.Length} bytes arrived changed");
            piece.Release();
        }

        Assert.Equal(5UL, Assert.IsType<Ping>(await reader.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within)).Nonce);
    }

    [Fact]
    public async Task A_connection_that_ends_in_the_middle_of_a_piece_is_a_truncated_frame_and_reads_nothing_after_it()
    {
        var (a, b) = InMemoryTransport.Pair();
        await using var reader = new FrameConnection(b, 256 * 1024);
        var frame = PieceFrame(1, 0, ProtocolLimits.PieceSize, out _);

        var receiving = reader.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask();
        await SendStartAsync(a.Stream, reader, frame.AsMemory(0, 1000));
        await a.Stream.WriteAsync(frame.AsMemory(1000, 300_000));
        await a.ShutdownSendAsync();

        var truncated = await Assert.ThrowsAsync<ProtocolException>(() => receiving.WaitAsync(Within));
        Assert.Equal(ProtocolError.TruncatedFrame, truncated.Code);
        // Part of a frame was taken: the connection is not read as if it had closed cleanly between frames.
        var after = await Assert.ThrowsAsync<P2PException>(() => reader.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within));
        Assert.Equal(ProtocolError.ConnectionLost, after.Code);
    }

    [Fact]
    public async Task A_receive_cancelled_in_the_middle_of_a_piece_leaves_the_connection_broken_not_misaligned()
    {
        var (a, b) = InMemoryTransport.Pair();
        await using var reader = new FrameConnection(b, 256 * 1024);
        var frame = PieceFrame(1, 0, ProtocolLimits.PieceSize, out _);
        using var cancel = new CancellationTokenSource();

        var receiving = reader.ReceiveAsync(ProtocolLimits.MaxPayload, cancel.Token).AsTask();
        await SendStartAsync(a.Stream, reader, frame.AsMemory(0, 1000));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receiving.WaitAsync(Within));

        // More of the piece's bytes follow: they are not the start of a frame, and must not be read as one.
        await a.Stream.WriteAsync(frame.AsMemory(1000, 1000));
        await a.Stream.FlushAsync();
        var after = await Assert.ThrowsAsync<P2PException>(() => reader.ReceiveAsync(ProtocolLimits.MaxPayload, CancellationToken.None).AsTask().WaitAsync(Within));
        Assert.Equal(ProtocolError.ConnectionLost, after.Code);
    }
}
