using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Transfer;

namespace P2PTransfer.Tests.Transfer;

/// <summary>
/// A downloader facing a source that lies: a fake server on loopback that completes the handshake and then answers
/// transfer requests as the test scripts it. Nothing it says may crash the downloader, exhaust its memory, or make a
/// wrong file appear under its final name.
/// </summary>
public sealed class HostileSourceTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "p2pt-hostile-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_source_announcing_a_file_larger_than_the_free_space_fails_before_any_data_or_partial_file()
    {
        var hash = SHA256.HashData("whatever"u8);
        long huge = TransferLimits.MaxFileSize; // 2 TiB: more than this machine's temporary folder has free
        Assert.True(new DriveInfo(_root).AvailableFreeSpace < huge);
        await using var source = FakeSource.Start(request => request switch
        {
            PieceListRequest list => new PieceList(list.RequestId, huge, list.FirstPiece, new byte[TransferLimits.MaxPieceHashesPerFrame * 32]),
            _ => null,
        });

        var item = await DownloadAsync(hash, "huge.bin", null, source.Endpoint);

        Assert.Equal(DownloadState.Failed, item.State);
        var error = Assert.IsType<P2PException>(item.Error);
        Assert.Equal(ProtocolError.InsufficientSpace, error.Code);
        Assert.Contains("not enough free space", error.Message);
        Assert.Equal(1, source.PieceListRequests);
        Assert.Empty(Directory.GetFiles(_root));
    }

    [Fact]
    public async Task A_source_announcing_an_absurd_size_is_dropped_without_harm()
    {
        var hash = SHA256.HashData("absurd"u8);
        await using var source = FakeSource.Start(request => request switch
        {
            PieceListRequest list => new PieceList(list.RequestId, long.MaxValue, 0, new byte[32]),
            _ => null,
        });

        var item = await DownloadAsync(hash, "absurd.bin", null, source.Endpoint);

        Assert.Equal(DownloadState.Failed, item.State);
        Assert.Contains("more than the", item.SourceFailures[source.Endpoint]);
        Assert.Empty(Directory.GetFiles(_root));
    }

    [Fact]
    public async Task A_false_piece_list_that_the_data_matches_is_caught_by_the_whole_file_hash_and_the_file_never_gets_its_name()
    {
        // The source serves content B and B's piece list, but under content A's hash: every piece checks out against
        // the list; only the whole-file hash can tell.
        var real = new byte[3 * TransferLimits.PieceSize];
        var served = new byte[3 * TransferLimits.PieceSize];
        RandomNumberGenerator.Fill(real);
        RandomNumberGenerator.Fill(served);
        var hash = SHA256.HashData(real);
        await using var source = FakeSource.Start(request => request switch
        {
            PieceListRequest list => new PieceList(list.RequestId, served.Length, 0, TransferFixtures.PieceHashes(served)),
            PieceRequest piece => PieceData.FromBytes(piece.RequestId, piece.Piece, served.AsSpan((int)piece.Piece * TransferLimits.PieceSize, TransferLimits.PieceSize)),
            _ => null,
        });

        var item = await DownloadAsync(hash, "liar.bin", served.Length, source.Endpoint);

        Assert.Equal(DownloadState.Failed, item.State);
        var error = Assert.IsType<P2PException>(item.Error);
        Assert.Equal(ProtocolError.VerificationFailed, error.Code);
        Assert.Contains($"piece list from {source.Endpoint}", error.Message);
        Assert.False(File.Exists(Path.Combine(_root, "liar.bin")));
        Assert.False(File.Exists(Path.Combine(_root, "liar.bin" + PartialFile.DataSuffix)), "unverifiable data is not kept for a resume");
    }

    [Theory]
    [InlineData("a short piece", "bad data for piece")]
    [InlineData("another piece", "sent piece 1 for a request of piece 0")]
    public async Task A_source_answering_with_another_piece_or_a_short_piece_is_dropped_and_the_file_is_not_written(string answer, string reason)
    {
        var content = new byte[2 * TransferLimits.PieceSize];
        RandomNumberGenerator.Fill(content);
        var hash = SHA256.HashData(content);
        await using var source = FakeSource.Start(request => request switch
        {
            PieceListRequest list => new PieceList(list.RequestId, content.Length, 0, TransferFixtures.PieceHashes(content)),
            PieceRequest piece when answer == "a short piece" => PieceData.FromBytes(piece.RequestId, piece.Piece, content.AsSpan(0, 1000)),
            // The right bytes of the other piece, labelled as what they are: not what was asked for.
            PieceRequest piece => PieceData.FromBytes(piece.RequestId, 1 - piece.Piece, content.AsSpan((int)(1 - piece.Piece) * TransferLimits.PieceSize, TransferLimits.PieceSize)),
            _ => null,
        });

        var item = await DownloadAsync(hash, "short.bin", content.Length, source.Endpoint);

        Assert.Equal(DownloadState.Failed, item.State);
        Assert.Contains(reason, item.SourceFailures[source.Endpoint]);
        Assert.False(File.Exists(Path.Combine(_root, "short.bin")));
    }

    [Fact]
    public async Task A_source_that_stops_answering_is_dropped_after_the_stall_timeout()
    {
        var content = new byte[2 * TransferLimits.PieceSize];
        RandomNumberGenerator.Fill(content);
        await using var source = FakeSource.Start(request => request switch
        {
            PieceListRequest list => new PieceList(list.RequestId, content.Length, 0, TransferFixtures.PieceHashes(content)),
            _ => null, // pieces are never answered
        });

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var item = await DownloadAsync(SHA256.HashData(content), "stall.bin", content.Length, source.Endpoint, stall: TimeSpan.FromSeconds(1.5));

        Assert.Equal(DownloadState.Failed, item.State);
        Assert.Contains("delivered nothing for 1.5 s", item.SourceFailures[source.Endpoint]);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.4, 10);
        Assert.Empty(Directory.GetFiles(_root)); // nothing was verified: nothing to resume, and no space stays reserved
    }

    [Fact]
    public async Task A_source_that_announces_a_large_file_and_sends_no_piece_leaves_no_partial_file_and_no_reserved_space_behind()
    {
        // The probe's attack: announce a size (up to the free space), send nothing; the reservation used to stay.
        long size = 256L * TransferLimits.PieceSize;
        var hashes = RandomNumberGenerator.GetBytes(256 * 32);
        await using var source = FakeSource.Start(request => request switch
        {
            PieceListRequest list => new PieceList(list.RequestId, size, 0, hashes),
            PieceRequest piece => new TransferRefused(piece.RequestId, ProtocolError.FileChanged, "not any more"),
            _ => null,
        });

        var item = await DownloadAsync(RandomNumberGenerator.GetBytes(32), "reserved.bin", size, source.Endpoint);

        Assert.Equal(DownloadState.Failed, item.State);
        Assert.Contains("not any more", item.SourceFailures[source.Endpoint]);
        Assert.Empty(Directory.GetFiles(_root));
    }

    [Fact]
    public async Task A_source_that_sends_one_piece_and_fails_leaves_a_partial_file_that_holds_the_space_of_that_piece_only()
    {
        long size = 256L * TransferLimits.PieceSize;
        var first = RandomNumberGenerator.GetBytes(TransferLimits.PieceSize);
        var hashes = RandomNumberGenerator.GetBytes(256 * 32);
        SHA256.HashData(first).CopyTo(hashes, 0);
        await using var source = FakeSource.Start(request => request switch
        {
            PieceListRequest list => new PieceList(list.RequestId, size, 0, hashes),
            PieceRequest { Piece: 0 } piece => PieceData.FromBytes(piece.RequestId, 0, first),
            PieceRequest piece => new TransferRefused(piece.RequestId, ProtocolError.FileChanged, "not any more"),
            _ => null,
        });

        var item = await DownloadAsync(RandomNumberGenerator.GetBytes(32), "one.bin", size, source.Endpoint);

        Assert.Equal(DownloadState.Failed, item.State);
        var data = Path.Combine(_root, "one.bin" + PartialFile.DataSuffix);
        Assert.True(File.Exists(data), "the verified piece stays, to be resumed");
        Assert.Equal(TransferLimits.PieceSize, new FileInfo(data).Length);
        if (OperatingSystem.IsLinux())
        {
            // The space the file holds on disk, reservation included (st_blocks, in 512-byte units).
            long allocated = AllocatedBytes(data);
            Assert.True(allocated <= 4L * TransferLimits.PieceSize, $"{allocated:N0} bytes stay allocated for 1 MiB of verified data");
        }
    }

    private static long AllocatedBytes(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true })!;
        var output = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.TrimEntries);
        Assert.True(stat.WaitForExit(10_000));
        return long.Parse(output[0]) * long.Parse(output[1]);
    }

    [Fact]
    public async Task A_source_that_answers_keep_alive_but_sends_no_data_is_dropped_after_the_stall_timeout()
    {
        var content = new byte[2 * TransferLimits.PieceSize];
        RandomNumberGenerator.Fill(content);
        await using var source = FakeSource.Start(
            request => request switch
            {
                PieceListRequest list => new PieceList(list.RequestId, content.Length, 0, TransferFixtures.PieceHashes(content)),
                _ => null, // pieces are never answered, but the connection is kept lively with pings
            },
            pingEvery: TimeSpan.FromMilliseconds(200));

        var item = await DownloadAsync(SHA256.HashData(content), "pings.bin", content.Length, source.Endpoint, stall: TimeSpan.FromSeconds(1.5));

        Assert.Equal(DownloadState.Failed, item.State);
        Assert.Contains("delivered nothing for 1.5 s", item.SourceFailures[source.Endpoint]);
        Assert.True(source.PingsSent >= 3, $"the connection was kept lively: {source.PingsSent} ping(s)");
    }

    private async Task<DownloadItem> DownloadAsync(byte[] hash, string name, long? size, string source, TimeSpan? stall = null)
    {
        await using var batch = new DownloadBatch(new DownloadOptions { Destination = _root, StallTimeout = stall ?? TransferLimits.StallTimeout });
        var item = batch.Add(Convert.ToHexString(hash), name, size, source)!;
        await batch.WhenAllAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return item;
    }

    /// <summary>A server that says Welcome and then answers each transfer request with what the script returns (null: no answer).</summary>
    private sealed class FakeSource : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly Func<IMessage, IMessage?> _script;
        private readonly TimeSpan? _pingEvery;
        private int _pingsSent;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<FrameConnection> _connections = [];
        private readonly Task _accepting;
        private int _pieceListRequests;

        private FakeSource(Func<IMessage, IMessage?> script, TimeSpan? pingEvery)
        {
            _script = script;
            _pingEvery = pingEvery;
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
            Endpoint = NetworkAddress.Format((IPEndPoint)_listener.LocalEndPoint!);
            _accepting = AcceptAsync();
        }

        public string Endpoint { get; }

        private static NodeCredentials Credentials { get; } = new(P2PTransfer.Identity.NodeKey.CreateEphemeral());

        public int PieceListRequests => Volatile.Read(ref _pieceListRequests);

        /// <summary>A source answering requests with <paramref name="script"/>; with <paramref name="pingEvery"/> it also pings its downloaders, as a node's keep-alive does.</summary>
        public static FakeSource Start(Func<IMessage, IMessage?> script, TimeSpan? pingEvery = null) => new(script, pingEvery);

        /// <summary>Pings handed to the downloader's connection.</summary>
        public int PingsSent => Volatile.Read(ref _pingsSent);

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Dispose();
            await _accepting;
            foreach (var connection in _connections)
            {
                await connection.DisposeAsync();
            }
        }

        private async Task AcceptAsync()
        {
            var serving = new List<Task>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    var connection = new FrameConnection(await Handshake.SecureAsync(new TcpConnection(socket), Credentials, _stop.Token));
                    _connections.Add(connection);
                    serving.Add(ServeAsync(connection));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or P2PException)
            {
            }

            await Task.WhenAll(serving);
        }

        private async Task PingAsync(FrameConnection connection, TimeSpan every)
        {
            try
            {
                for (ulong nonce = 1; nonce < 1000; nonce++)
                {
                    await Task.Delay(every, _stop.Token);
                    await connection.SendAsync(new Ping(nonce), _stop.Token);
                    Interlocked.Increment(ref _pingsSent);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or P2PException or ObjectDisposedException)
            {
            }
        }

        private async Task ServeAsync(FrameConnection connection)
        {
            try
            {
                await Handshake.AcceptAsync(connection, TimeSpan.FromSeconds(5), _stop.Token);
                await connection.SendAsync(Welcome.Create(NodeAvailability.Available, Credentials.Id, Endpoint, "liar"), _stop.Token);
                if (_pingEvery is { } every)
                {
                    _ = PingAsync(connection, every);
                }

                while (await connection.ReceiveAsync(ProtocolLimits.MaxPayload, _stop.Token) is { } request)
                {
                    if (request is PieceListRequest)
                    {
                        Interlocked.Increment(ref _pieceListRequests);
                    }

                    if (request is PieceListRequest or PieceRequest && _script(request) is { } answer)
                    {
                        await connection.SendAsync(answer, _stop.Token);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or P2PException or ObjectDisposedException)
            {
            }
        }
    }
}

/// <summary>Two downloads to one destination at once: the second is refused and the first's partial files stay whole.</summary>
public sealed class PartialFileLockTests
{
    [Fact]
    public async Task A_second_download_to_a_destination_in_use_is_refused_without_touching_the_first()
    {
        var root = Path.Combine(Path.GetTempPath(), "p2pt-lock-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            var destination = Path.Combine(root, "x.bin");
            var first = new byte[3 * TransferLimits.PieceSize];
            RandomNumberGenerator.Fill(first);
            using var running = PartialFile.Create(destination, first.Length, SHA256.HashData(first), TransferFixtures.PieceHashes(first));
            Assert.True(await running.WritePieceAsync(0, first.AsMemory(0, TransferLimits.PieceSize), CancellationToken.None));

            var other = new byte[2 * TransferLimits.PieceSize];
            var error = Assert.Throws<DownloadInUseException>(() => PartialFile.Create(destination, other.Length, SHA256.HashData(other), TransferFixtures.PieceHashes(other)));
            Assert.Equal(ProtocolError.DestinationExists, error.Code);
            Assert.Throws<DownloadInUseException>(() => PartialFile.TryResume(destination, first.Length, SHA256.HashData(first)));

            Assert.True(File.Exists(destination + PartialFile.RecordSuffix));
            Assert.True(running.Verified.Contains(0));
            Assert.True(await running.WritePieceAsync(1, first.AsMemory(TransferLimits.PieceSize, TransferLimits.PieceSize), CancellationToken.None));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
