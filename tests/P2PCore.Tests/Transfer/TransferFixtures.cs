using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using P2PTransfer.Net;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using P2PTransfer.Transfer;

namespace P2PTransfer.Tests.Transfer;

/// <summary>Nodes that share given files, content made to order, and reading transfer answers off a raw connection.</summary>
internal static class TransferFixtures
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public const int MiB = TransferLimits.PieceSize;

    /// <summary>Bytes that differ from seed to seed and from piece to piece (no two pieces of a file hash the same).</summary>
    public static byte[] Content(long length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string HashOf(byte[] content) => Convert.ToHexString(SHA256.HashData(content));

    public static byte[] HashBytes(byte[] content) => SHA256.HashData(content);

    /// <summary>The piece hashes of a content laid end to end, as a node's index holds them.</summary>
    public static byte[] PieceHashes(byte[] content)
    {
        int pieces = TransferLimits.PieceCount(content.Length);
        var hashes = new byte[pieces * 32];
        for (int piece = 0; piece < pieces; piece++)
        {
            SHA256.HashData(content.AsSpan(piece * MiB, TransferLimits.PieceLength(content.Length, piece)), hashes.AsSpan(piece * 32));
        }

        return hashes;
    }

    /// <summary>Starts a node sharing a folder of its own holding these files; returns once every file is hashed.</summary>
    public static async Task<(P2PNode Node, string Folder)> StartSharingAsync(TestNodes nodes, string name, int host, IEnumerable<(string Name, byte[] Content)> files, Action<NodeOptions>? configure = null)
    {
        var folder = Path.Combine(nodes.Root, $"share-{name}");
        Directory.CreateDirectory(folder);
        var list = files.ToList();
        foreach (var (file, content) in list)
        {
            var path = Path.Combine(folder, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
        }

        var node = await nodes.StartAsync(name, host, options =>
        {
            options.Index.Shares = [folder];
            configure?.Invoke(options);
        });
        await TestShare.IdleAsync(node.Index);
        Assert.Equal(list.Count, node.Index.GetFiles().Count(f => f.Hash is not null));
        return (node, folder);
    }

    /// <summary>A destination folder of its own below the test's root.</summary>
    public static string Destination(TestNodes nodes, string name = "downloads") => Path.Combine(nodes.Root, name);

    /// <summary>Options whose index does not look at changes for the length of a test: a file changed on disk keeps its old row.</summary>
    public static void FrozenIndex(NodeOptions options)
    {
        options.Index.ChangeDelay = TimeSpan.FromMinutes(10);
        options.Index.ReconcileInterval = TimeSpan.FromMinutes(10);
    }

    /// <summary>The request id of a transfer answer; null for other frames.</summary>
    public static uint? RequestIdOf(IMessage message) => message switch
    {
        PieceList list => list.RequestId,
        PieceData data => data.RequestId,
        TransferRefused refused => refused.RequestId,
        _ => null,
    };

    /// <summary>Reads until the answer to <paramref name="requestId"/> has arrived (bounded in frames and time).</summary>
    public static async Task<IMessage> ReplyAsync(RawConnection raw, uint requestId)
    {
        for (int count = 1; count <= 500; count++)
        {
            var frames = await raw.ReadFramesAsync(count, Wait);
            if (frames.FirstOrDefault(f => RequestIdOf(f) == requestId) is { } found)
            {
                return found;
            }

            count = frames.Count;
        }

        throw new Xunit.Sdk.XunitException($"no answer to request {requestId}");
    }

    /// <summary>Reads until <paramref name="count"/> transfer answers have arrived; returns them in arrival order.</summary>
    public static async Task<List<IMessage>> TransferRepliesAsync(RawConnection raw, int count)
    {
        for (int frames = 1; frames <= 500; frames++)
        {
            var all = await raw.ReadFramesAsync(frames, Wait);
            var replies = all.Where(f => RequestIdOf(f) is not null).ToList();
            if (replies.Count >= count)
            {
                return replies;
            }

            frames = all.Count;
        }

        throw new Xunit.Sdk.XunitException($"fewer than {count} transfer answers arrived");
    }

    public static TransferRefused Refused(IMessage reply, ProtocolError reason)
    {
        var refused = Assert.IsType<TransferRefused>(reply);
        Assert.Equal(reason, refused.Reason);
        Assert.False(string.IsNullOrWhiteSpace(refused.Message));
        return refused;
    }

    /// <summary>Bytes of a partial record before its piece hashes: magic, version, size, hash, piece count, piece root.</summary>
    public const int RecordHeaderLength = 4 + 2 + 8 + 32 + 4 + 32;

    /// <summary>
    /// Writes a partial download by hand, in the record format of docs/protocol.md §15: the data file holds the
    /// pieces marked verified (zeros elsewhere) and the record marks them.
    /// </summary>
    public static void WritePartial(string destination, byte[] content, Func<int, bool> verified, byte[]? recordHash = null)
    {
        int pieces = TransferLimits.PieceCount(content.Length);
        var data = new byte[content.Length];
        var bitmap = new byte[(pieces + 7) / 8];
        for (int piece = 0; piece < pieces; piece++)
        {
            if (verified(piece))
            {
                content.AsSpan(piece * MiB, TransferLimits.PieceLength(content.Length, piece)).CopyTo(data.AsSpan(piece * MiB));
                bitmap[piece / 8] |= (byte)(1 << (piece % 8));
            }
        }

        var hashes = PieceHashes(content);
        var record = new byte[RecordHeaderLength + hashes.Length + bitmap.Length];
        BinaryPrimitives.WriteUInt32BigEndian(record, 0x50325052);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(4), 2);
        BinaryPrimitives.WriteInt64BigEndian(record.AsSpan(6), content.Length);
        (recordHash ?? HashBytes(content)).CopyTo(record.AsSpan(14));
        BinaryPrimitives.WriteInt32BigEndian(record.AsSpan(46), pieces);
        SHA256.HashData(hashes).CopyTo(record.AsSpan(50));
        hashes.CopyTo(record.AsSpan(RecordHeaderLength));
        bitmap.CopyTo(record.AsSpan(RecordHeaderLength + hashes.Length));
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.WriteAllBytes(destination + ".p2ppart", data);
        File.WriteAllBytes(destination + ".p2ppart.pieces", record);
    }

    /// <summary>Runs a batch to its end, bounded in time.</summary>
    public static async Task RunAsync(DownloadBatch batch, TimeSpan? within = null)
    {
        await batch.WhenAllAsync().WaitAsync(within ?? TimeSpan.FromSeconds(20));
    }

    /// <summary>The item completed, its file holds <paramref name="content"/>, and no partial file or record is left.</summary>
    public static void AssertArrived(DownloadItem item, byte[] content)
    {
        Assert.True(item.State == DownloadState.Completed, Describe(item));
        Assert.Equal(content.LongLength, item.Size);
        Assert.Equal(item.Destination, item.File!.FullName);
        Assert.True(File.ReadAllBytes(item.Destination).AsSpan().SequenceEqual(content), $"{item.Name}: the content differs");
        Assert.False(File.Exists(item.Destination + PartialFile.DataSuffix), "no partial data is left");
        Assert.False(File.Exists(item.Destination + PartialFile.RecordSuffix), "no partial record is left");
    }

    /// <summary>What an item ended with, for assertion messages.</summary>
    public static string Describe(DownloadItem item) =>
        $"{item.Name}: {item.State}, error: {item.Error?.Message ?? "none"}, failures: {string.Join(" | ", item.SourceFailures.Select(f => $"{f.Key}: {f.Value}"))}";
}

/// <summary>
/// A source that stands in front of a node: it welcomes the downloader (as itself, over TLS with a key of its own)
/// and passes the downloader's requests on to the node as a client of its own. What the node answers is read whole
/// and, by the relay's mode, passed back, held until the test releases it, or never passed back (a source that
/// goes silent after its Welcome). TLS hides the frames from a TCP-level proxy; this one sees them.
/// </summary>
public sealed class WelcomingRelay : IAsyncDisposable
{
    private static readonly NodeCredentials Credentials = new(P2PTransfer.Identity.NodeKey.CreateEphemeral());
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly bool _silent;
    private readonly Task _run;

    private WelcomingRelay(string upstream, bool silent, bool held)
    {
        _silent = silent;
        if (!held)
        {
            _released.TrySetResult();
        }

        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        Endpoint = _listener.LocalEndPoint!.ToString()!;
        _run = RunAsync(upstream);
    }

    public string Endpoint { get; }

    /// <summary>Welcomes, then passes nothing back: the node serves (and counts) what is asked, the downloader gets nothing.</summary>
    public static WelcomingRelay Silent(string upstream) => new(upstream, silent: true, held: false);

    /// <summary>Welcomes, then holds the node's answers until <see cref="Release"/>, however slow the test.</summary>
    public static WelcomingRelay Held(string upstream) => new(upstream, silent: false, held: true);

    /// <summary>Passes on the answers held, and every answer after them.</summary>
    public void Release() => _released.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private async Task RunAsync(string upstream)
    {
        FrameConnection? client = null;
        FrameConnection? node = null;
        try
        {
            var socket = await _listener.AcceptAsync(_stop.Token);
            client = new FrameConnection(await Handshake.SecureAsync(new TcpConnection(socket), Credentials, _stop.Token));
            var hello = await Handshake.AcceptAsync(client, TransferFixtures.Wait, _stop.Token);
            (node, _) = await Handshake.DialAsync(TlsDialer.Client, upstream, 0, RawConnection.ClientHello(), TransferFixtures.Wait, _stop.Token);
            await client.SendAsync(RawConnection.WelcomeFor(hello, Credentials.Id, Endpoint, "relay"), _stop.Token);
            var (upstreamNode, downstream) = (node, client);
            var answering = Task.Run(async () =>
            {
                // Bounded by the connection: it ends when the node or the test closes it.
                while (await upstreamNode.ReceiveAsync(ProtocolLimits.MaxPayload, _stop.Token) is { } answer)
                {
                    if (_silent || answer is not (PieceList or PieceData or TransferRefused))
                    {
                        (answer as PieceData)?.Release();
                        continue;
                    }

                    await _released.Task.WaitAsync(_stop.Token);
                    await downstream.SendAsync(answer, _stop.Token);
                }
            });
            while (await client.ReceiveAsync(ProtocolLimits.MaxPayload, _stop.Token) is { } request)
            {
                if (request is PieceListRequest or PieceRequest)
                {
                    await node.SendAsync(request, _stop.Token);
                }
            }

            await answering;
        }
        catch (Exception ex) when (ex is OperationCanceledException or P2PException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }

            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }
    }
}
