using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using P2PTransfer.Client;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Bench;

/// <summary>
/// Sends at least --frames frames (1,000,000 by default) to a running node from many connections at once: frames of
/// every code, valid and mutated (bits flipped, lengths wrong, payloads cut or padded, codes and flags changed, frames
/// spliced, random bytes), before the handshake and after it, as a client and as a peer. Then checks the node: its
/// process still runs (0 crashes), it answers a Ping and a search with the right files, and its memory.
/// </summary>
internal static class Fuzzer
{
    public static async Task<int> RunAsync(Args args)
    {
        string nodeText = args.Get("node");
        var node = IPEndPoint.Parse(nodeText);
        int pid = args.Int("node-pid", 0);
        string share = args.Get("share");
        long target = args.Int("frames", 1_000_000);
        int connections = args.Int("connections", 64);
        int seed = args.Int("seed", Environment.TickCount & 0xFFFF);
        int maxSeconds = args.Int("max-seconds", 900);

        await Transport.DetectAsync(node);
        Console.WriteLine($"TrustBench fuzz: node {nodeText} (pid {pid}, {Transport.Describe()}), {target:N0} frames from {connections} connections at once, seed {seed} (--seed {seed} repeats the frames), at most {maxSeconds} s");
        var (rss0, _) = NodeProcess.Memory(pid);
        Console.WriteLine($"node RSS before: {rss0:0} MiB");
        var expected = Bystander.ExpectedFiles(share, "doc-00");
        var state = new State(target);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds));
        var clock = Stopwatch.StartNew();
        var progress = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && !state.Done)
            {
                try
                {
                    await Task.Delay(10_000, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                Console.WriteLine($"   {clock.Elapsed.TotalSeconds,4:0} s: {state.Summary()}; node RSS {NodeProcess.Memory(pid).Rss:0} MiB{(NodeProcess.IsAlive(pid) ? "" : "; NODE PROCESS GONE")}");
            }
        });
        await Task.WhenAll(Enumerable.Range(0, connections).Select(w => Task.Run(() => WorkerAsync(node, w, seed, state, stop.Token))));
        stop.Cancel();
        await progress;
        double seconds = clock.Elapsed.TotalSeconds;

        Console.WriteLine();
        Console.WriteLine($"sent: {state.Summary()} in {seconds:0} s ({state.Frames / seconds:N0} frames/s)");
        Console.WriteLine($"   kinds: {state.Kinds()}");
        Console.WriteLine($"   answers from the node: {state.Answers()}");
        bool alive = NodeProcess.IsAlive(pid);
        var (rss, peak) = NodeProcess.Memory(pid);

        // The node may still be working through what the fuzzer queued (searches, queries): it is given up to 120 s.
        string served = await NodeCheck.RecoverAsync(nodeText, expected);
        bool ok = !served.StartsWith("NOT", StringComparison.Ordinal);

        bool enough = state.Frames >= target;
        Console.WriteLine();
        Console.WriteLine("== summary ==");
        Console.WriteLine($"frames sent                    {state.Frames:N0} ({(enough ? "met" : "MISSED")} >= {target:N0})");
        Console.WriteLine($"node crashes                   {(alive ? 0 : 1)} ({(alive ? "met" : "MISSED")}: the node's process {(alive ? "still runs" : "is gone")})");
        Console.WriteLine($"node answers a Ping and search {(ok ? "yes" : "NO")}: {served}");
        Console.WriteLine($"node RSS                       {rss:0} MiB now, peak {peak:0} MiB, {rss0:0} MiB before");
        return enough && alive && ok ? 0 : 1;
    }

    private sealed class State(long target)
    {
        private long _frames;
        private long _connections;
        private long _handshakes;
        private long _refused;
        private long _closedByNode;
        private readonly ConcurrentDictionary<string, long> _kinds = new();
        private readonly ConcurrentDictionary<string, long> _answers = new();

        public long Frames => Interlocked.Read(ref _frames);

        public bool Done => Frames >= target;

        public void Sent(int frames) => Interlocked.Add(ref _frames, frames);

        public void Connected() => Interlocked.Increment(ref _connections);

        public void Welcomed() => Interlocked.Increment(ref _handshakes);

        public void Refused() => Interlocked.Increment(ref _refused);

        public void ClosedByNode() => Interlocked.Increment(ref _closedByNode);

        public void Kind(string kind)
        {
            // One count per kind of damage, whatever frame it was done to: "bit flips in QueryHit" counts as "bit flips".
            int cut = kind.IndexOfAny(['(']);
            kind = cut > 0 ? kind[..cut].TrimEnd() : kind;
            cut = kind.IndexOf(" in ", StringComparison.Ordinal);
            kind = cut > 0 ? kind[..cut] : kind;
            if (kind.StartsWith("before handshake: code", StringComparison.Ordinal))
            {
                kind = "before handshake: a frame of any code";
            }
            else if (kind.StartsWith("code 0x", StringComparison.Ordinal))
            {
                kind = "another code";
            }

            _kinds.AddOrUpdate(kind, 1, (_, n) => n + 1);
        }

        public void Answer(Wire.RawFrame f) => _answers.AddOrUpdate(f.Code == Wire.Error ? $"Error({f.ErrorCode})" : $"0x{f.Code:x2}", 1, (_, n) => n + 1);

        public string Summary() => $"{Frames:N0} frames, {Interlocked.Read(ref _connections):N0} connections ({Interlocked.Read(ref _handshakes):N0} welcomed, {Interlocked.Read(ref _refused):N0} refused in the handshake, {Interlocked.Read(ref _closedByNode):N0} closed by the node)";

        public string Kinds() => string.Join(", ", _kinds.OrderByDescending(k => k.Value).Select(k => $"{k.Key} {k.Value:N0}"));

        public string Answers() => string.Join(", ", _answers.OrderByDescending(k => k.Value).Take(16).Select(k => $"{k.Key} {k.Value:N0}"));
    }

    private static async Task WorkerAsync(IPEndPoint node, int worker, int seed, State state, CancellationToken stop)
    {
        var random = new Random(seed * 1000 + worker);
        var gen = new FrameMaker(random);
        // Many source addresses, so that limits per address judge the frames, not the fuzzer's own address.
        int round = 0;
        while (!stop.IsCancellationRequested && !state.Done)
        {
            var source = IPAddress.Parse($"127.0.1.{1 + (worker * 7 + round++) % 254}");
            RawLink? link = null;
            try
            {
                bool handshake = random.NextDouble() < 0.85;
                byte role = random.NextDouble() < 0.3 ? (byte)2 : (byte)1;
                var identity = role == 2 ? new Identity() : null;
                // With TLS, a quarter of the connections that skip the handshake send their bytes without TLS at all.
                bool plain = !handshake && random.Next(4) == 0;
                link = await RawLink.OpenAsync(node, source, TimeSpan.FromSeconds(5), stop, identity, plain);
                state.Connected();
                var frames = new List<byte[]>();
                Guid id = Guid.Empty;
                string ownEndpoint = "";
                if (!handshake)
                {
                    // Before the handshake: a mutated Hello, another code first, or bytes that are no frame at all.
                    int n = 1 + random.Next(3);
                    for (int i = 0; i < n; i++)
                    {
                        frames.Add(gen.BeforeHandshake(out var kind));
                        state.Kind(kind);
                    }

                    await WriteAsync(link, frames, state, random, stop);
                    link.OnFrame = state.Answer;
                    link.StartReading(answerPings: false);
                    await WaitClosedAsync(link, TimeSpan.FromSeconds(2));
                    continue;
                }

                id = identity?.Id ?? Guid.Empty;
                ownEndpoint = role == 2 ? $"{source}:47100" : "";
                await link.SendAsync(Transport.Hello(role, identity, ownEndpoint, role == 2 ? $"fuzz{worker}" : ""), stop);
                state.Sent(1);
                using (var cts = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    cts.CancelAfter(TimeSpan.FromSeconds(10));
                    var first = await link.ReadFrameAsync(cts.Token);
                    if (first is not { Code: Wire.Welcome } w || w.WelcomeFields.Availability != 0)
                    {
                        state.Refused();
                        if (first is { } f)
                        {
                            state.Answer(f);
                        }

                        continue;
                    }
                }

                state.Welcomed();
                link.OnFrame = state.Answer;
                link.StartReading();
                int count = 10 + random.Next(150);
                int mutantAt = random.NextDouble() < 0.8 ? random.Next(count) : -1;
                for (int i = 0; i < count; i++)
                {
                    string kind;
                    frames.Add(i == mutantAt ? gen.Mutant(role, id, ownEndpoint, out kind) : gen.Valid(role, id, ownEndpoint, out kind));
                    state.Kind(kind);
                }

                if (mutantAt < 0 && random.NextDouble() < 0.5)
                {
                    frames.Add(Wire.ByeFrame(0, "fuzz done"));
                    state.Kind("valid Bye");
                }

                await WriteAsync(link, frames, state, random, stop);
                if (mutantAt >= 0)
                {
                    // A protocol violation: the node answers Error and closes; wait for that (bounded).
                    if (await WaitClosedAsync(link, TimeSpan.FromSeconds(10)))
                    {
                        state.ClosedByNode();
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            finally
            {
                if (link is not null)
                {
                    await link.DisposeAsync();
                }
            }
        }
    }

    /// <summary>Writes the frames in chunks of random sizes (so frames also arrive split); counts those fully written.</summary>
    private static async Task WriteAsync(RawLink link, List<byte[]> frames, State state, Random random, CancellationToken stop)
    {
        int at = 0;
        while (at < frames.Count)
        {
            int take = Math.Min(frames.Count - at, 1 + random.Next(64));
            var chunk = new MemoryStream();
            for (int i = 0; i < take; i++)
            {
                chunk.Write(frames[at + i]);
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            cts.CancelAfter(TimeSpan.FromSeconds(10));
            await link.SendAsync(chunk.ToArray(), cts.Token);
            state.Sent(take);
            at += take;
        }
    }

    private static async Task<bool> WaitClosedAsync(RawLink link, TimeSpan within)
    {
        try
        {
            await link.Closed.WaitAsync(within);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Frames of every code: valid for the role, for the other role, and mutated.</summary>
    private sealed class FrameMaker(Random random)
    {
        private static readonly string[] Names = ["doc-00*", "*", "*.txt", "doc-[0-9]1*", "?oc*", "`[x", "minutes", "é*", ""];
        private static readonly string[] Patterns = ["", "", "", "doc-0+1", "(a|b)*c", "[", "((a+)+)+$", "^.{0,3}$"];

        public byte[] Valid(byte role, Guid id, string endpoint, out string kind)
        {
            int pick = random.Next(100);
            (kind, var frame) = pick switch
            {
                < 20 => ("valid Ping", Wire.PingFrame((ulong)random.NextInt64())),
                < 30 => ("valid Pong", Wire.PongFrame((ulong)random.NextInt64())),
                < 33 => ("valid Status", Wire.Frame(Wire.Status, [(byte)random.Next(3)])),
                < 36 => ("valid Error<100", Wire.Frame(Wire.Error, w => w.U16((ushort)random.Next(100)).Str("note"))),
                _ when role == 2 => pick < 80
                    ? ("valid Query", Query(id, endpoint))
                    : ("valid QueryHit", QueryHit(id, endpoint, remaining: 1)),
                < 45 => ("valid Search", Search()),
                < 55 => ("valid SearchCancel", Wire.Frame(Wire.SearchCancel, w => w.U32((uint)random.Next(64)))),
                < 70 => ("valid PieceListRequest", Wire.Frame(Wire.PieceListRequest, w => w.U32((uint)random.Next()).Bytes(Hash()).U32((uint)random.Next(4)))),
                < 90 => ("valid PieceRequest", Wire.Frame(Wire.PieceRequest, w => w.U32((uint)random.Next()).Bytes(Hash()).U32((uint)random.Next(4)))),
                _ => ("valid QueryHit (direct)", QueryHit(Guid.NewGuid(), "127.0.0.9:47100", remaining: 1)),
            };
            return frame;
        }

        /// <summary>A frame built to break one rule, or a valid frame of any code damaged at random.</summary>
        public byte[] Mutant(byte role, Guid id, string endpoint, out string kind)
        {
            var baseFrame = random.Next(3) == 0 ? AnyCode(out var baseKind) : Valid(role, id, endpoint, out baseKind);
            baseKind = baseKind.Replace("valid ", "", StringComparison.Ordinal);
            var f = (byte[])baseFrame.Clone();
            switch (random.Next(9))
            {
                case 0:
                    kind = $"bit flips in {baseKind}";
                    for (int i = 0, n = 1 + random.Next(4); i < n && f.Length > Wire.HeaderSize; i++)
                    {
                        f[Wire.HeaderSize + random.Next(f.Length - Wire.HeaderSize)] ^= (byte)(1 << random.Next(8));
                    }

                    return f;
                case 1:
                    kind = $"random code ({baseKind})";
                    f[0] = (byte)random.Next(256);
                    return f;
                case 2:
                    kind = $"flags set ({baseKind})";
                    f[1] = (byte)(1 + random.Next(255));
                    return f;
                case 3:
                    kind = $"length off ({baseKind})";
                    uint len = BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(2));
                    uint wrong = random.Next(3) switch { 0 => len + (uint)random.Next(1, 8), 1 => len > 0 ? len - (uint)random.Next(1, (int)Math.Min(len, 8) + 1) : 1, _ => (uint)random.NextInt64(uint.MaxValue) };
                    BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(2), wrong);
                    return f;
                case 4:
                    kind = $"payload cut ({baseKind})";
                    int cut = f.Length > Wire.HeaderSize ? random.Next(f.Length - Wire.HeaderSize) : 0;
                    return Wire.Frame(f[0], f.AsSpan(Wire.HeaderSize, cut));
                case 5:
                    kind = $"payload padded ({baseKind})";
                    return Wire.Frame(f[0], [.. f.AsSpan(Wire.HeaderSize), .. Bytes(1 + random.Next(16))]);
                case 6:
                    kind = $"field overwritten ({baseKind})";
                    if (f.Length > Wire.HeaderSize)
                    {
                        int at = Wire.HeaderSize + random.Next(f.Length - Wire.HeaderSize);
                        var junk = random.Next(2) == 0 ? new byte[] { 0xFF, 0xFF } : new byte[] { 0x00, 0x00 };
                        junk.AsSpan(0, Math.Min(2, f.Length - at)).CopyTo(f.AsSpan(at));
                    }

                    return f;
                case 7:
                    kind = "random bytes";
                    return Bytes(1 + random.Next(64));
                default:
                    kind = $"spliced ({baseKind})";
                    var other = AnyCode(out _);
                    int keep = random.Next(f.Length + 1);
                    return [.. f.AsSpan(0, keep), .. other.AsSpan(random.Next(other.Length))];
            }
        }

        /// <summary>A well-formed frame of any code of the protocol, whoever may send it.</summary>
        public byte[] AnyCode(out string kind)
        {
            // Protocol 2 adds MembershipProof (0x08); an unknown code with flags 1 is an optional frame.
            byte code = Transport.Tls && random.Next(Wire.AllCodes.Length + 2) < 2
                ? (random.Next(2) == 0 ? Wire.MembershipProof : (byte)0x09)
                : Wire.AllCodes[random.Next(Wire.AllCodes.Length)];
            if (code == 0x09)
            {
                kind = "optional frame of an unknown code";
                return Wire.Frame(0x09, Bytes(random.Next(200)), flags: 1);
            }

            kind = $"code 0x{code:x2}";
            return code switch
            {
                Wire.Hello => Transport.OddHello(Transport.Version, (byte)(1 + random.Next(2)), Guid.NewGuid(), "127.0.0.9:47100", "x"),
                Wire.Welcome => Transport.Welcome(Guid.NewGuid()),
                Wire.MembershipProof => Wire.Frame(Wire.MembershipProof, Bytes(32)),
                Wire.Ping or Wire.Pong => Wire.Frame(code, w => w.U64((ulong)random.NextInt64())),
                Wire.Status => Wire.Frame(Wire.Status, [(byte)random.Next(3)]),
                Wire.Bye or Wire.Error => Wire.Frame(code, w => w.U16((ushort)random.Next(300)).Str("fuzz")),
                Wire.Search => Search(),
                Wire.SearchCancel => Wire.Frame(code, w => w.U32(1)),
                Wire.SearchResults => Wire.Frame(code, w =>
                {
                    w.U32(1).Id(Guid.NewGuid()).Str("x").Str("127.0.0.9:47100").U8(1).U8(0);
                    Wire.Stack(w, [(Guid.NewGuid(), "127.0.0.9:47100")]);
                    Wire.HitList(w, [new Wire.Entry("a.txt", 1, Hash(), "pub/a.txt")]);
                }),
                Wire.SearchDone => Wire.Frame(code, w => w.U32(1).U16(20).U32(0).U32(0).Str("Timeout")),
                Wire.Query => Query(Guid.NewGuid(), "127.0.0.9:47100"),
                Wire.QueryHit => QueryHit(Guid.NewGuid(), "127.0.0.9:47100", 1),
                Wire.PieceList => Wire.Frame(code, w => w.U32(1).U64(10).U32(0).U32(1).Bytes(Hash())),
                Wire.PieceData => Wire.Frame(code, w => w.U32(1).U32(0).Bytes(Bytes(random.Next(64)))),
                Wire.TransferRefused => Wire.Frame(code, w => w.U32(1).U16(12).Str("unknown")),
                _ => Wire.Frame(Wire.PieceListRequest, w => w.U32(1).Bytes(Hash()).U32(0)),
            };
        }

        public byte[] BeforeHandshake(out string kind)
        {
            switch (random.Next(4))
            {
                case 0:
                    var hello = Transport.OddHello((ushort)random.Next(4), (byte)random.Next(4), random.Next(2) == 0 ? Guid.Empty : Guid.NewGuid(), random.Next(2) == 0 ? "127.0.0.9:47100" : "garbage", "x");
                    kind = "before handshake: odd Hello";
                    return hello;
                case 1:
                    var m = Mutant(1, Guid.Empty, "", out var mk);
                    kind = $"before handshake: {mk}";
                    return m;
                case 2:
                    var a = AnyCode(out var ak);
                    kind = $"before handshake: {ak}";
                    return a;
                default:
                    kind = "before handshake: random bytes";
                    return Bytes(1 + random.Next(400));
            }
        }

        private byte[] Search() =>
            Wire.SearchFrame((uint)random.Next(64), (byte)random.Next(3), (uint)random.Next(300), (uint)(1 + random.Next(200)),
                random.Next(4) == 0 ? [] : [Names[random.Next(Names.Length)]], Patterns[random.Next(Patterns.Length)]);

        private byte[] Query(Guid self, string endpoint)
        {
            var stack = new List<(Guid, string)>();
            for (int i = 0, n = random.Next(3); i < n; i++)
            {
                stack.Add((Guid.NewGuid(), $"127.0.0.{1 + random.Next(250)}:{1 + random.Next(65535)}"));
            }

            stack.Add((self, endpoint));
            return Wire.QueryFrame(Guid.NewGuid(), (byte)random.Next(3), (uint)random.Next(6000), stack, random.Next(3) == 0 ? [] : [Names[random.Next(Names.Length)]], Patterns[random.Next(Patterns.Length)]);
        }

        private byte[] QueryHit(Guid sender, string endpoint, byte remaining)
        {
            var stack = new List<(Guid, string)> { (Guid.NewGuid(), "127.0.0.9:47100") };
            if (random.Next(2) == 0)
            {
                stack.Add((sender, endpoint));
            }

            var files = Enumerable.Range(0, random.Next(4)).Select(i => new Wire.Entry($"f{i}.bin", random.NextInt64(1 << 30), Hash(), $"pub/f{i}.bin")).ToList();
            return Wire.QueryHitFrame(Guid.NewGuid(), (ushort)random.Next(3), remaining, stack, sender == Guid.Empty ? Guid.NewGuid() : sender, "fuzz", endpoint.Length > 0 ? endpoint : "127.0.0.9:47100", files);
        }

        private byte[] Hash() => Bytes(32);

        private byte[] Bytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
    }
}
