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

    public NodeCredentials(NodeKey key)
    {
        Key = key;
        _context = new Lazy<SslStreamCertificateContext>(() => SslStreamCertificateContext.Create(key.Certificate, additionalCertificates: null, offline: true), LazyThreadSafetyMode.ExecutionAndPublication);
    }

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
