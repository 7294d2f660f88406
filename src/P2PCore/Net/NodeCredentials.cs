using System.Net.Security;
using P2PTransfer.Identity;

namespace P2PTransfer.Net;

/// <summary>
/// What this side proves and accepts on every connection: the key whose certificate it presents in TLS (the node
/// id derives from it). One instance per node; pure clients share <see cref="Client"/>.
/// </summary>
internal sealed class NodeCredentials
{
    private static readonly Lazy<NodeCredentials> SharedClient = new(() => new NodeCredentials(NodeKey.CreateEphemeral()), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly Lazy<SslStreamCertificateContext> _context;

    /// <param name="networkKey">A private network's key (32 bytes): this side proves it and admits only those that do; null for an open network.</param>
    /// <param name="trustedNodes">The only nodes this side links to, answers and serves (besides itself); null or empty for all.</param>
    public NodeCredentials(NodeKey key, byte[]? networkKey = null, IEnumerable<Guid>? trustedNodes = null)
        : this(key, networkKey, trustedNodes, null)
    {
    }

    private NodeCredentials(NodeKey key, byte[]? networkKey, IEnumerable<Guid>? trustedNodes, Lazy<SslStreamCertificateContext>? context)
    {
        if (networkKey is { Length: not Identity.NetworkKey.Length })
        {
            throw new ArgumentException($"a network key is {Identity.NetworkKey.Length} bytes, not {networkKey.Length}", nameof(networkKey));
        }

        Key = key;
        NetworkKey = networkKey?.ToArray();
        var trusted = trustedNodes?.ToHashSet();
        TrustedNodes = trusted is { Count: > 0 } ? trusted : null;
        _context = context ?? new Lazy<SslStreamCertificateContext>(() => SslStreamCertificateContext.Create(key.Certificate, additionalCertificates: null, offline: true), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The private network's key this side proves, or null on an open network.</summary>
    public byte[]? NetworkKey { get; }

    /// <summary>The nodes this side admits besides itself, or null for all.</summary>
    public IReadOnlySet<Guid>? TrustedNodes { get; }

    /// <summary>Whether this side links to, answers and serves the node <paramref name="remoteId"/>: it is trusted, or this node itself.</summary>
    public bool Admits(Guid remoteId) => TrustedNodes is null || remoteId == Id || TrustedNodes.Contains(remoteId);

    /// <summary>The same key (and certificate) with a network key: a pure client of a private network.</summary>
    public NodeCredentials WithNetworkKey(byte[]? networkKey) => new(Key, networkKey, TrustedNodes, _context);

    /// <summary>
    /// A pure client's (no node of its own): a key made once per process and never stored, so a client leaves no
    /// trace on disk and two processes are two identities.
    /// </summary>
    public static NodeCredentials Client => SharedClient.Value;

    public NodeKey Key { get; }

    /// <summary>The id the remote sees: derived from <see cref="Key"/>.</summary>
    public Guid Id => Key.Id;

    /// <summary>The certificate and its (empty) chain, as TLS sends it.</summary>
    public SslStreamCertificateContext CertificateContext => _context.Value;
}
