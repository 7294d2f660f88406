using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using P2PTransfer.Client;

namespace P2PTransfer.Bench;

/// <summary>
/// Each attack of the probe against one running node, while a bystander (a process of its own, from 127.0.0.1)
/// pings the node and searches it: one host holding every slot (idle pinging connections; silent sockets), a regular
/// expression flood from a peer, Sybil links, forged results, and reflection through direct delivery (connections
/// counted at victim listeners). Prints one row per attack and the targets.
/// </summary>
internal static class Attacks
{
    // Every attacker is another loopback host than the bystander (127.0.0.1): limits per address must not catch it.
    private static readonly IPAddress SlotHost = IPAddress.Parse("127.0.0.66");
    private static readonly IPAddress RegexHost = IPAddress.Parse("127.0.0.67");
    private static readonly IPAddress SybilHost = IPAddress.Parse("127.0.0.68");
    private static readonly IPAddress ForgerHost = IPAddress.Parse("127.0.0.69");
    private static readonly IPAddress ReflectorHost = IPAddress.Parse("127.0.0.71");
    private static readonly IPAddress UnsignedReflectorHost = IPAddress.Parse("127.0.0.72");
    private static readonly IPAddress VictimHost = IPAddress.Parse("127.0.0.77");

    // Further victims of the self-signed reflector (a fresh address per request) and the victim of the badly signed one.
    private static readonly IPAddress[] MoreVictimHosts = [IPAddress.Parse("127.0.0.78"), IPAddress.Parse("127.0.0.79"), IPAddress.Parse("127.0.0.80")];
    private static readonly IPAddress UnsignedVictimHost = IPAddress.Parse("127.0.0.81");
    private const string EvilPattern = "((((((((.*)*)*)*)*)*)*)*)#";

    private sealed record Row(string Attack, string P99, string Pings, string Searches, string Connects, long Dials, int Forged, string Rss, bool Alive, string Notes, bool Met);

    public static async Task<int> RunAsync(Args args)
    {
        var node = Endpoint(args.Get("node"));
        string nodeText = args.Get("node");
        int pid = args.Int("node-pid", 0);
        string share = args.Get("share");
        int seconds = args.Int("seconds", 15);
        double rssGrowthMax = args.Int("rss-growth-max-mib", 256);
        var only = args.Get("only", "none,slots-idle,slots-silent,regex,sybil,forged,reflection").Split(',', StringSplitOptions.RemoveEmptyEntries);

        await Transport.DetectAsync(node);
        Console.WriteLine($"TrustBench attacks: node {nodeText} (pid {pid}, {Transport.Describe()}), {Environment.ProcessorCount} cores, .NET {Environment.Version}; {seconds} s per attack");
        var (rss0, _) = NodeProcess.Memory(pid);
        Console.WriteLine($"node RSS before the attacks: {rss0:0} MiB");
        var rows = new List<Row>();
        foreach (var name in only)
        {
            if (!NodeProcess.IsAlive(pid))
            {
                Console.WriteLine($"the node (pid {pid}) is gone: {name} and later attacks not run");
                rows.Add(new Row(name, "-", "-", "-", "-", 0, 0, "-", false, "node process gone", false));
                break;
            }

            Console.WriteLine();
            Console.WriteLine($"== {name} ==");
            rows.Add(await RunOneAsync(name, node, nodeText, pid, share, seconds, rss0, rssGrowthMax));
        }

        Console.WriteLine();
        Console.WriteLine($"== summary: targets p99 < 100 ms, every search correct, 0 dials to the victim (reflection: 0 for Queries whose entry signature does not verify, at most 1 for self-signed ones), 0 forged results shown, node RSS within +{rssGrowthMax:0} MiB of its {rss0:0} MiB before the attacks, node alive ==");
        Console.WriteLine($"{"attack",-13} {"bystander p99",13} {"pings failed",12} {"searches ok",11} {"new conns ok",12} {"victim dials",12} {"forged shown",12} {"node RSS MiB",16} {"alive",5}  {"result",-6} notes");
        foreach (var r in rows)
        {
            Console.WriteLine($"{r.Attack,-13} {r.P99,13} {r.Pings,12} {r.Searches,11} {r.Connects,12} {r.Dials,12} {r.Forged,12} {r.Rss,16} {(r.Alive ? "yes" : "NO"),5}  {(r.Met ? "met" : "MISSED"),-6} {r.Notes}");
        }

        return rows.All(r => r.Met) ? 0 : 1;
    }

    private static async Task<Row> RunOneAsync(string name, IPEndPoint node, string nodeText, int pid, string share, int seconds, double rss0, double rssGrowthMax)
    {
        await using var victim = new VictimListener(VictimHost);
        await using var bystander = await BystanderProcess.StartAsync(nodeText, share, seconds + 60);
        using var stop = new CancellationTokenSource();
        var established = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ctx = new Context(node, victim.Endpoint, established, stop.Token);
        Task<string> attack = name switch
        {
            "none" => Task.Run(() => { established.TrySetResult("no attack: the bystander alone"); return stop.Token.WhenCancelled(""); }),
            "slots-idle" => Task.Run(() => HoldIdleAsync(ctx, 512)),
            "slots-silent" => Task.Run(() => HoldSilentAsync(ctx, 1500)),
            "regex" => Task.Run(() => RegexFloodAsync(ctx)),
            "sybil" => Task.Run(() => SybilAsync(ctx, 8)),
            "forged" => Task.Run(() => ForgeAsync(ctx)),
            "reflection" => Task.Run(() => ReflectAsync(ctx)),
            _ => throw new ArgumentException($"unknown attack '{name}'"),
        };

        string setup;
        try
        {
            setup = await established.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            setup = "attack not established within 60 s";
        }

        Console.WriteLine($"   attack: {setup}");
        var clock = Stopwatch.StartNew();
        var result = await bystander.MeasureAsync(TimeSpan.FromSeconds(seconds), () => { });
        stop.Cancel();
        string notes;
        try
        {
            notes = await attack.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception ex)
        {
            notes = $"attack ended with {ex.GetType().Name}: {ex.Message}";
        }

        long dials = victim.Accepted;
        string reflected = "";
        bool reflectionMet = true;
        if (ctx.Reflection is { } r)
        {
            // The reflection attack has victims of its own besides this one (a fresh address per request) and counts their dials.
            long selfSigned = r.SelfSigned + victim.Accepted;
            dials = r.Unsigned + selfSigned;
            reflectionMet = r.Unsigned == 0 && selfSigned <= 1;
            reflected = $"dials for Queries whose entry signature does not verify: {r.Unsigned} (target 0); for self-signed Queries: {selfSigned} over {r.Addresses} victim addresses from one host (target at most 1); ";
        }

        var (rss, peak) = NodeProcess.Memory(pid);
        bool alive = NodeProcess.IsAlive(pid);
        Console.WriteLine($"   bystander: {result.Line}");
        Console.WriteLine($"   attacker: {notes}");
        Console.WriteLine($"   victim listener {victim.Endpoint}: {dials} connection(s); node RSS {rss:0} MiB (peak {peak:0} MiB)");
        string recovered = await NodeCheck.RecoverAsync(nodeText, Bystander.ExpectedFiles(share, "doc-00"));
        Console.WriteLine($"   after the attack: {recovered}");

        double p99 = result.Number("p99");
        int searches = (int)result.Number("searches"), correct = (int)result.Number("correct");
        int foreign = (int)result.Number("foreign");
        int forged = name == "forged" ? foreign : 0;
        bool met = alive && p99 < 100 && searches > 0 && correct == searches && (ctx.Reflection is null ? dials == 0 : reflectionMet) && foreign == 0 && rss <= rss0 + rssGrowthMax;
        string problem = Uri.UnescapeDataString(result.Text("problem"));
        return new Row(name, double.IsNaN(p99) ? "n/a" : $"{p99:0.0} ms", $"{result.Text("ping_failures")}/{result.Text("pings")}",
            $"{correct}/{searches}", $"{searches - (int)result.Number("connect_failures")}/{searches}", dials, forged,
            $"{rss:0} (peak {peak:0})", alive, reflected + (problem.Length > 0 ? $"first problem: {problem}; " : "") + $"elapsed {clock.Elapsed.TotalSeconds:0} s", met);
    }

    private sealed record Context(IPEndPoint Node, IPEndPoint Victim, TaskCompletionSource<string> Established, CancellationToken Stop)
    {
        /// <summary>Reflection: dials caused by Queries whose entry signature does not verify, and by self-signed ones at the victims besides <see cref="Victim"/>.</summary>
        public (long Unsigned, long SelfSigned, int Addresses)? Reflection { get; set; }
    }

    private static IPEndPoint Endpoint(string text)
    {
        int colon = text.LastIndexOf(':');
        return new IPEndPoint(IPAddress.Parse(text[..colon]), int.Parse(text[(colon + 1)..], CultureInfo.InvariantCulture));
    }

    private static Task<string> WhenCancelled(this CancellationToken token, string result)
    {
        var done = new TaskCompletionSource<string>();
        token.Register(() => done.TrySetResult(result));
        return done.Task;
    }

    /// <summary>Opens links in parallel (at most 32 dials at once); returns those the node welcomed and the first refusal.</summary>
    private static async Task<(List<RawLink> Links, int Refused, string FirstRefusal)> OpenManyAsync(int count, Func<int, Task<RawLink>> open, CancellationToken stop)
    {
        var links = new List<RawLink>();
        int refused = 0;
        string first = "";
        using var gate = new SemaphoreSlim(32);
        var tasks = Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(stop);
            try
            {
                var link = await open(i);
                lock (links)
                {
                    links.Add(link);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                lock (links)
                {
                    refused++;
                    if (first.Length == 0)
                    {
                        first = ex.Message;
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        });
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException)
        {
        }

        return (links, refused, first);
    }

    /// <summary>512 client connections from one host, each pinging once a second: every inbound slot held.</summary>
    private static async Task<string> HoldIdleAsync(Context ctx, int count)
    {
        var (links, refused, first) = await OpenManyAsync(count, async i =>
        {
            var (link, _) = await RawLink.HandshakeAsync(ctx.Node, SlotHost, 1, null, "", "", TimeSpan.FromSeconds(5), ctx.Stop);
            link.StartReading();
            return link;
        }, ctx.Stop);
        ctx.Established.TrySetResult($"{links.Count} idle client connections from {SlotHost} welcomed, {refused} refused{(first.Length > 0 ? $" (first: {first})" : "")}");
        ulong nonce = 0;
        while (!ctx.Stop.IsCancellationRequested)
        {
            foreach (var link in links.Where(l => !l.IsClosed))
            {
                try
                {
                    await link.SendAsync(Wire.PingFrame(++nonce), ctx.Stop);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                }
            }

            try
            {
                await Task.Delay(1000, ctx.Stop);
            }
            catch (OperationCanceledException)
            {
            }
        }

        int open = links.Count(l => !l.IsClosed);
        await Task.WhenAll(links.Select(l => l.DisposeAsync().AsTask()));
        return $"{links.Count} welcomed, {refused} refused; {open} still open at the end";
    }

    /// <summary>1,500 sockets from one host that connect and say nothing; each one the node closes is opened again.</summary>
    private static async Task<string> HoldSilentAsync(Context ctx, int count)
    {
        var sockets = new Socket?[count];
        long opened = 0, failed = 0, closedByNode = 0;
        async Task OpenAsync(int i)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                s.Bind(new IPEndPoint(SlotHost, 0));
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.Stop);
                cts.CancelAfter(TimeSpan.FromSeconds(3));
                await s.ConnectAsync(ctx.Node, cts.Token);
                sockets[i] = s;
                Interlocked.Increment(ref opened);
            }
            catch (Exception)
            {
                s.Dispose();
                sockets[i] = null;
                Interlocked.Increment(ref failed);
            }
        }

        using (var gate = new SemaphoreSlim(64))
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    await OpenAsync(i);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        ctx.Established.TrySetResult($"{Interlocked.Read(ref opened)} silent sockets from {SlotHost} connected, {Interlocked.Read(ref failed)} failed");
        var buffer = new byte[1024];
        while (!ctx.Stop.IsCancellationRequested)
        {
            // Every 250 ms: sockets the node closed (readable with 0 bytes) are opened again.
            for (int i = 0; i < count && !ctx.Stop.IsCancellationRequested; i++)
            {
                var s = sockets[i];
                bool gone = s is null;
                if (s is not null && s.Poll(0, SelectMode.SelectRead))
                {
                    try
                    {
                        gone = s.Available == 0 || s.Receive(buffer) == 0;
                    }
                    catch (SocketException)
                    {
                        gone = true;
                    }
                }

                if (gone)
                {
                    if (s is not null)
                    {
                        Interlocked.Increment(ref closedByNode);
                    }

                    s?.Dispose();
                    await OpenAsync(i);
                }
            }

            try
            {
                await Task.Delay(250, ctx.Stop);
            }
            catch (OperationCanceledException)
            {
            }
        }

        int open = sockets.Count(s => s is not null);
        foreach (var s in sockets)
        {
            s?.Dispose();
        }

        return $"{Interlocked.Read(ref opened)} connects, {Interlocked.Read(ref failed)} failed, {Interlocked.Read(ref closedByNode)} closed by the node and opened again; {open} open at the end";
    }

    /// <summary>A peer link under a made-up id: a key pair of its own (with protocol 1, the id alone).</summary>
    private static async Task<(RawLink Link, Identity Me, string Endpoint)> PeerAsync(Context ctx, IPAddress host, string name)
    {
        var me = new Identity();
        string endpoint = $"{host}:47100";
        var (link, _) = await RawLink.HandshakeAsync(ctx.Node, host, 2, me, endpoint, name, TimeSpan.FromSeconds(5), ctx.Stop);
        return (link, me, endpoint);
    }

    /// <summary>A burst of 1,100 Queries with a catastrophic pattern from a peer, then 30 a second.</summary>
    private static async Task<string> RegexFloodAsync(Context ctx)
    {
        var (link, me, endpoint) = await PeerAsync(ctx, RegexHost, "regex");
        var id = me.Id;
        long hits = 0;
        link.OnFrame = f => { if (f.Code == Wire.QueryHit) Interlocked.Increment(ref hits); };
        link.StartReading();
        var stack = new[] { (id, endpoint) };
        byte[] Next() => Wire.QueryFrame(Guid.NewGuid(), 0, 100, stack, [], EvilPattern, me);
        var burst = new MemoryStream();
        for (int i = 0; i < 1100; i++)
        {
            burst.Write(Next());
        }

        await link.SendAsync(burst.ToArray(), ctx.Stop);
        ctx.Established.TrySetResult($"peer link from {RegexHost}: 1,100 Queries with pattern {EvilPattern} written at once, then 30/s");
        long sent = 1100;
        var clock = Stopwatch.StartNew();
        while (!ctx.Stop.IsCancellationRequested && !link.IsClosed)
        {
            try
            {
                await link.SendAsync(Next(), ctx.Stop);
                sent++;
                var wait = TimeSpan.FromSeconds((sent - 1100) / 30.0) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ctx.Stop);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                break;
            }
        }

        bool closed = link.IsClosed;
        await link.DisposeAsync();
        return $"{sent} Queries sent, {Interlocked.Read(ref hits)} QueryHits back; link {(closed ? "closed by the node" : "open at the end")}";
    }

    /// <summary>8 peer links under made-up ids from one host, each sending Queries for every file as fast as the node takes them.</summary>
    private static async Task<string> SybilAsync(Context ctx, int count)
    {
        var ids = new System.Collections.Concurrent.ConcurrentDictionary<RawLink, (Identity Me, string Endpoint)>();
        var (links, refused, first) = await OpenManyAsync(count, async i =>
        {
            var (link, me, endpoint) = await PeerAsync(ctx, SybilHost, $"sybil{i}");
            ids[link] = (me, endpoint);
            return link;
        }, ctx.Stop);
        ctx.Established.TrySetResult($"{links.Count} peer links under made-up ids from {SybilHost}, {refused} refused{(first.Length > 0 ? $" (first: {first})" : "")}; each floods Query '*'");
        long sent = 0;
        await Task.WhenAll(links.Select(async link =>
        {
            link.StartReading();
            var self = ids[link];
            while (!ctx.Stop.IsCancellationRequested && !link.IsClosed)
            {
                var batch = new MemoryStream();
                for (int i = 0; i < 50; i++)
                {
                    batch.Write(Wire.QueryFrame(Guid.NewGuid(), 0, 5000, [(self.Me.Id, self.Endpoint)], ["*"], "", self.Me));
                }

                try
                {
                    await link.SendAsync(batch.ToArray(), ctx.Stop);
                    Interlocked.Add(ref sent, 50);
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
                {
                    break;
                }
            }
        }));
        int closed = links.Count(l => l.IsClosed);
        await Task.WhenAll(links.Select(l => l.DisposeAsync().AsTask()));
        return $"{links.Count} links, {Interlocked.Read(ref sent)} Queries sent; {closed} links closed by the node";
    }

    /// <summary>A peer that answers every Query it is sent with files under another node's name, relayed as if from beyond it.</summary>
    private static async Task<string> ForgeAsync(Context ctx)
    {
        var (link, me, endpoint) = await PeerAsync(ctx, ForgerHost, "forger");
        var id = me.Id;
        var impersonated = Guid.NewGuid();
        long queries = 0, answered = 0;
        var pending = System.Threading.Channels.Channel.CreateUnbounded<Wire.RawFrame>();
        link.OnFrame = f =>
        {
            if (f.Code == Wire.Query)
            {
                Interlocked.Increment(ref queries);
                pending.Writer.TryWrite(f);
            }
        };
        link.StartReading();
        ctx.Established.TrySetResult($"peer link from {ForgerHost} (id {id}); it answers every Query as node 'honest' ({impersonated}, 127.0.0.70:47100)");
        try
        {
            await foreach (var q in pending.Reader.ReadAllAsync(ctx.Stop))
            {
                // Query: requestId(16) ttl(1) maxResults(4) stack; the answer carries the stack as received.
                var requestId = Wire.ReadId(q.Payload);
                int count = q.Payload[21];
                var stack = new List<(Guid, string)>();
                int at = 22;
                for (int i = 0; i < count; i++)
                {
                    var sid = Wire.ReadId(q.Payload.AsSpan(at));
                    int len = (q.Payload[at + 16] << 8) | q.Payload[at + 17];
                    stack.Add((sid, System.Text.Encoding.UTF8.GetString(q.Payload, at + 18, len)));
                    at += 18 + len;
                }

                // The forger passes on a response "from" the impersonated node as if that node were one hop beyond it:
                // the stack as that node would have got it (the Query's, then the forger), remaining 1 (the entry
                // server next), so the sender is the one the stack names. Only a signature can tell it from a real one.
                stack.Add((id, endpoint));
                var files = Enumerable.Range(0, 3).Select(i => new Wire.Entry($"doc-00forged-{i}.txt", 1000 + i, RandomNumberGenerator.GetBytes(32), $"pub/doc-00forged-{i}.txt")).ToList();
                // Signed search messages: the forger signs with its own key, which is not the impersonated node's.
                await link.SendAsync(Wire.QueryHitFrame(requestId, 0, 1, stack, impersonated, "honest", "127.0.0.70:47100", files, me), ctx.Stop);
                answered++;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
        }

        bool closed = link.IsClosed;
        await link.DisposeAsync();
        return $"{Interlocked.Read(ref queries)} Queries came in, {answered} answered with forged files; link {(closed ? "closed by the node" : "open at the end")}";
    }

    /// <summary>
    /// Queries that name a victim as their entry server, from peers that take the answer and drop the link at once: the
    /// node delivers the answers it had handed to the link directly (section 14, links that break), to the victim, unless
    /// it refuses. Two attackers at once, each from a host of its own, twice a second: one signs the entry with a key of
    /// its own for an id it made up, so the signature does not verify (no dial at all may follow); the other signs with
    /// the key of the id it names, a fresh victim address each time (the dial's TLS identity check fails: at most one
    /// dial may follow, after which that host's requests get no direct delivery for a while).
    /// </summary>
    private static async Task<string> ReflectAsync(Context ctx)
    {
        await using var unsignedVictim = new VictimListener(UnsignedVictimHost);
        var moreVictims = MoreVictimHosts.Select(h => new VictimListener(h)).ToList();
        var selfSignedVictims = new[] { ctx.Victim }.Concat(moreVictims.Select(v => v.Endpoint)).Select(e => e.ToString()).ToArray();
        try
        {
            ctx.Established.TrySetResult($"peer links from {UnsignedReflectorHost} (entry signature that does not verify, victim {unsignedVictim.Endpoint}) and from {ReflectorHost} (self-signed, victims {string.Join(", ", selfSignedVictims)} in turn), each sends a Query, reads the answer and resets the link; 2 a second each");
            var badly = RunAsync(UnsignedReflectorHost, _ => unsignedVictim.Endpoint.ToString(), selfSigned: false);
            var self = RunAsync(ReflectorHost, round => selfSignedVictims[round % selfSignedVictims.Length], selfSigned: true);
            var notes = await Task.WhenAll(badly, self);

            // Direct deliveries come within 4 s of a link's end (docs/protocol.md section 14): count them that long.
            await Task.Delay(TimeSpan.FromSeconds(5));
            ctx.Reflection = (unsignedVictim.Accepted, moreVictims.Sum(v => v.Accepted), selfSignedVictims.Length);
            return $"badly signed: {notes[0]}; self-signed: {notes[1]}";
        }
        finally
        {
            foreach (var v in moreVictims)
            {
                await v.DisposeAsync();
            }
        }

        async Task<string> RunAsync(IPAddress host, Func<int, string> victimOf, bool selfSigned)
        {
            // The victim's id: with its key (made by the attacker: a third party's id is anyone's) or without.
            var victim = new Identity();
            int rounds = 0, answered = 0, refused = 0;
            string first = "";
            var clock = Stopwatch.StartNew();
            while (!ctx.Stop.IsCancellationRequested)
            {
                string victimEndpoint = victimOf(rounds);
                rounds++;
                try
                {
                    var (link, me, endpoint) = await PeerAsync(ctx, host, "reflector");
                    var hit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    link.OnFrame = f => { if (f.Code == Wire.QueryHit) hit.TrySetResult(); };
                    link.StartReading();
                    var entryId = selfSigned ? victim.Id : Guid.NewGuid();
                    await link.SendAsync(Wire.QueryFrame(Guid.NewGuid(), 0, 100, [(entryId, victimEndpoint), (me.Id, endpoint)], ["doc-00*"], "", victim), ctx.Stop);
                    try
                    {
                        await hit.Task.WaitAsync(TimeSpan.FromSeconds(2), ctx.Stop);
                        answered++;
                    }
                    catch (TimeoutException)
                    {
                    }

                    link.Abort();
                    await link.DisposeAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    refused++;
                    if (first.Length == 0)
                    {
                        first = ex.Message;
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                var wait = TimeSpan.FromMilliseconds(500 * rounds) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, ctx.Stop);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }

            return $"{rounds} Queries, {answered} answered over the link, {refused} links refused{(first.Length > 0 ? $" (first: {first})" : "")}";
        }
    }

    /// <summary>A plain TCP listener standing for a third party: counts the connections that arrive.</summary>
    private sealed class VictimListener : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task _accepting;
        private long _accepted;

        public VictimListener(IPAddress address)
        {
            _listener = new TcpListener(address, 0);
            _listener.Start();
            Endpoint = (IPEndPoint)_listener.LocalEndpoint;
            _accepting = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        var client = await _listener.AcceptTcpClientAsync();
                        Interlocked.Increment(ref _accepted);
                        client.Dispose();
                    }
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }
            });
        }

        public IPEndPoint Endpoint { get; }

        public long Accepted => Interlocked.Read(ref _accepted);

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _accepting;
        }
    }
}
