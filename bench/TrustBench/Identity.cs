using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace P2PTransfer.Bench;

/// <summary>
/// A key pair as a node has one (docs/protocol.md, node identity): ECDSA P-256, the node id the first 16 bytes of the
/// SHA-256 of the public key (DER SubjectPublicKeyInfo), presented in TLS as a self-signed certificate. The attackers
/// make as many as they like: a made-up id costs one key pair.
/// </summary>
internal sealed class Identity
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private X509Certificate2? _certificate;

    private static readonly Lazy<Identity> SharedClient = new(() => new Identity());

    /// <summary>A pure client's identity: one per process.</summary>
    public static Identity Client => SharedClient.Value;

    public Identity()
    {
        PublicKey = _key.ExportSubjectPublicKeyInfo();
        Id = new Guid(SHA256.HashData(PublicKey).AsSpan(0, 16), bigEndian: true);
    }

    public byte[] PublicKey { get; }

    public Guid Id { get; }

    public X509Certificate2 Certificate => _certificate ??= MakeCertificate();

    public byte[] Sign(ReadOnlySpan<byte> data) => _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    private X509Certificate2 MakeCertificate()
    {
        var request = new CertificateRequest("CN=bench", _key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        using var made = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }
}
