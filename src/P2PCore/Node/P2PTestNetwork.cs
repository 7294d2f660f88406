using System.Net;
using System.Net.Sockets;

namespace P2PTransfer.Node;

/// <summary>
/// Nodes on loopback addresses, linked in a <see cref="TestTopology"/>, for scripted tests of a whole network in one
/// process. <see cref="StartAsync"/> returns once every node lists every link it should have and has indexed what
/// it shares; <see cref="RemoveAsync"/> stops the nodes and deletes the folder that holds their state.
/// </summary>
public sealed class P2PTestNetwork : IAsyncDisposable
{
    /// <summary>The most nodes one test network holds.</summary>
    public const int MaxNodes = 64;

    private readonly object _gate = new();
    private Task? _removed;

    private P2PTestNetwork(TestTopology topology, int? seed, string root, IReadOnlyList<P2PNode> nodes, IReadOnlyList<TestNetworkLink> links)
    {
        Topology = topology;
        Seed = seed;
        Root = root;
        Nodes = nodes;
        Links = links;
    }

    public TestTopology Topology { get; }

    /// <summary>The seed a <see cref="TestTopology.Random"/> network was drawn from (give it again to get the same links); null for the other shapes.</summary>
    public int? Seed { get; }

    /// <summary>The nodes, in order: node i is named PREFIXi and listens on the i-th address from the first.</summary>
    public IReadOnlyList<P2PNode> Nodes { get; }

    public IReadOnlyList<TestNetworkLink> Links { get; }

    /// <summary>The temporary folder holding the nodes' state directories and generated shares; deleted by <see cref="RemoveAsync"/>.</summary>
    public string Root { get; }

    /// <summary>The node of that name.</summary>
    public P2PNode this[string name] =>
        Nodes.FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"the test network has no node named '{name}' (it has {string.Join(", ", Nodes.Select(n => n.Name))})");

    /// <summary>
    /// Starts the nodes, links them and waits, on the nodes' own link events, until each lists all of its links and
    /// has indexed its shares. On failure or cancellation, whatever was started is stopped and removed before this throws.
    /// </summary>
    /// <exception cref="ArgumentException">A count out of range, an address that is not loopback, a share list of the wrong length.</exception>
    /// <exception cref="TimeoutException">The links or the indexes were not ready within <see cref="TestNetworkOptions.Timeout"/>; names what was missing.</exception>
    public static async Task<P2PTestNetwork> StartAsync(TestNetworkOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Count is < 1 or > MaxNodes)
        {
            throw new ArgumentException($"a test network has 1 to {MaxNodes} nodes, not {options.Count}");
        }

        if (options.Shares is { } shares && shares.Count != options.Count)
        {
            throw new ArgumentException($"give one share per node: {options.Count} nodes, {shares.Count} share(s)");
        }

        var addresses = LoopbackAddresses(options.FirstAddress, options.Count);
        var seed = options.Topology == TestTopology.Random ? options.Seed ?? System.Random.Shared.Next() : (int?)null;
        var pairs = TopologyLinks.Create(options.Topology, options.Count, new Random(seed ?? 0));
        var root = Path.Combine(Path.GetTempPath(), $"p2ptransfer-testnet-{Guid.NewGuid().ToString("N")[..12]}");
        var nodes = new List<P2PNode>();
        try
        {
            for (var i = 0; i < options.Count; i++)
            {
                var name = $"{options.NamePrefix}{i}";
                var share = options.Shares is null ? GenerateShare(root, name) : options.Shares[i];
                nodes.Add(await P2PNode.StartAsync(
                    new NodeOptions
                    {
                        Name = name,
                        ListenAddress = addresses[i],
                        Port = 0,
                        StateDirectory = Path.Combine(root, name, "state"),
                        Index = new Index.IndexOptions { Shares = string.IsNullOrEmpty(share) ? [] : [share] },

                        // The topology asked for, exactly: no links of the nodes' own making (peer exchange, discovery).
                        TargetPeers = 0,
                        Discovery = { Enabled = false },

                        // Session nodes with generic names (n0, n1...): a control channel would clash with another network's.
                        Control = false,
                    },
                    cancellationToken).ConfigureAwait(false));
            }

            var links = pairs.Select(p => new TestNetworkLink(nodes[p.From], nodes[p.To])).ToList();
            using var ready = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            ready.CancelAfter(options.Timeout);
            // Listening before dialing, so no link event can pass unseen.
            var linked = Task.WhenAll(nodes.Select(node => WaitLinkedAsync(node, Neighbours(node, links), ready.Token)));
            var indexed = Task.WhenAll(nodes.Select(node => node.Index.WaitHashedAsync(node.Shares, ready.Token)));
            try
            {
                foreach (var link in links)
                {
                    await link.From.ConnectPeerAsync(link.To.Endpoint, ready.Token).ConfigureAwait(false);
                }

                await Task.WhenAll(linked, indexed).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the test network was not ready within {options.Timeout.TotalSeconds:0.#} s: {DescribeMissing(nodes, links)}");
            }
            finally
            {
                // The waits end with the start, whichever way it ends.
                ready.Cancel();
            }

            return new P2PTestNetwork(options.Topology, seed, root, nodes, links);
        }
        catch
        {
            try
            {
                await StopAndDeleteAsync(nodes, root).ConfigureAwait(false);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // The failure to start is what the caller needs to see; a folder left behind is only litter in the temp folder.
            }

            throw;
        }
    }

    /// <summary>Stops every node at once (work under way is cancelled) and deletes <see cref="Root"/>. Safe to call more than once.</summary>
    public Task RemoveAsync()
    {
        lock (_gate)
        {
            return _removed ??= StopAndDeleteAsync(Nodes, Root);
        }
    }

    public ValueTask DisposeAsync() => new(RemoveAsync());

    public override string ToString() => $"{Nodes.Count} node(s) in a {Topology}: {string.Join(", ", Links)}";

    /// <summary>The addresses from <paramref name="first"/> on, one per node, all in 127.0.0.0/8.</summary>
    internal static string[] LoopbackAddresses(string first, int count)
    {
        if (!IPAddress.TryParse(first, out var address) || address.AddressFamily != AddressFamily.InterNetwork || address.GetAddressBytes()[0] != 127)
        {
            throw new ArgumentException($"a test network listens on loopback addresses only (127.0.0.0/8): '{first}' is not one");
        }

        var bytes = address.GetAddressBytes();
        var start = ((uint)bytes[0] << 24) | ((uint)bytes[1] << 16) | ((uint)bytes[2] << 8) | bytes[3];
        const uint Last = 0x7FFFFFFE;   // 127.255.255.254
        if ((start & 0xFF) == 0 || start + (uint)count - 1 > Last)
        {
            throw new ArgumentException($"{count} node(s) from {first} do not fit in 127.0.0.1-127.255.255.254");
        }

        return [.. Enumerable.Range(0, count).Select(i => start + (uint)i).Select(a => new IPAddress(new[] { (byte)(a >> 24), (byte)(a >> 16), (byte)(a >> 8), (byte)a }).ToString())];
    }

    /// <summary>A folder holding one file, NAME.txt, whose content no other node of the network has.</summary>
    private static string GenerateShare(string root, string name)
    {
        var folder = Path.Combine(root, name, "share");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, $"{name}.txt"), $"the file of node {name}");
        return folder;
    }

    private static HashSet<Guid> Neighbours(P2PNode node, IEnumerable<TestNetworkLink> links) =>
        [.. links.Where(l => l.From == node).Select(l => l.To.Id).Concat(links.Where(l => l.To == node).Select(l => l.From.Id))];

    /// <summary>Completes once the node lists a live link to each of <paramref name="expected"/>: checked now and on each of its PeerConnected events.</summary>
    private static async Task WaitLinkedAsync(P2PNode node, IReadOnlySet<Guid> expected, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (expected.IsSubsetOf(node.GetPeers().Select(p => p.NodeId)))
            {
                done.TrySetResult();
            }
        }

        void OnConnected(object? sender, PeerEventArgs e) => Check();
        node.PeerConnected += OnConnected;
        try
        {
            Check();
            using (cancellationToken.Register(() => done.TrySetCanceled(cancellationToken)))
            {
                await done.Task.ConfigureAwait(false);
            }
        }
        finally
        {
            node.PeerConnected -= OnConnected;
        }
    }

    private static string DescribeMissing(IReadOnlyList<P2PNode> nodes, IReadOnlyList<TestNetworkLink> links)
    {
        var missing = new List<string>();
        foreach (var node in nodes)
        {
            var listed = node.GetPeers().Select(p => p.NodeId).ToHashSet();
            missing.AddRange(nodes.Where(other => Neighbours(node, links).Contains(other.Id) && !listed.Contains(other.Id)).Select(other => $"{node.Name} has no link to {other.Name}"));
            if (!node.IndexProgress.IsComplete)
            {
                missing.Add($"{node.Name} is still indexing");
            }
        }

        return missing.Count == 0 ? "everything was ready at the last moment" : string.Join("; ", missing);
    }

    private static async Task StopAndDeleteAsync(IEnumerable<P2PNode> nodes, string root)
    {
        await Task.WhenAll(nodes.Select(n => n.StopAsync(TimeSpan.Zero))).ConfigureAwait(false);
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
