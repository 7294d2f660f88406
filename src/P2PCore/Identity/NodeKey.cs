using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace P2PTransfer.Identity;

/// <summary>
/// A node's key pair (ECDSA P-256). The node id is derived from the public key (<see cref="IdOf"/>), so nobody can
/// claim an id without holding its private key. The private key lives in the node's state directory, readable by
/// the owner only; pure clients use a key made for the process (<see cref="CreateEphemeral"/>).
/// </summary>
internal sealed class NodeKey : IDisposable
{
    /// <summary>The file in a state directory that holds the private key (PKCS#8, PEM).</summary>
    public const string FileName = "node-key.pem";

    /// <summary>Bytes of a signature: r and s of P-256, 32 bytes each (IEEE P1363).</summary>
    public const int SignatureLength = 64;

    private readonly ECDsa _key;
    private X509Certificate2? _certificate;

    private NodeKey(ECDsa key)
    {
        _key = key;
        PublicKey = key.ExportSubjectPublicKeyInfo();
        Id = IdOf(PublicKey);
    }

    /// <summary>The public key as a DER SubjectPublicKeyInfo: what signed messages carry and TLS certificates hold.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The node id: the first 16 bytes of SHA-256 of <see cref="PublicKey"/>.</summary>
    public Guid Id { get; }

    /// <summary>A key for this process only: for a client without a node of its own.</summary>
    public static NodeKey CreateEphemeral() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>
    /// Reads the key in <paramref name="directory"/>, or makes one there on first use. The file is created readable
    /// and writable by the owner only; an existing one that others may read is made so.
    /// </summary>
    public static NodeKey LoadOrCreate(string directory)
    {
        var file = Path.Combine(directory, FileName);
        if (File.Exists(file))
        {
            RestrictToOwner(file);
            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(File.ReadAllText(file));
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                key.Dispose();
                throw new InvalidDataException($"the node key '{file}' is damaged ({ex.Message}); move it away to make a new key (the node's id changes with it)", ex);
            }

            if (!IsP256(key))
            {
                key.Dispose();
                throw new InvalidDataException($"the node key '{file}' is not a P-256 key");
            }

            return new NodeKey(key);
        }

        var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = created.ExportPkcs8PrivateKeyPem();

        // Written beside and renamed, so a crash never leaves a half-written key; owner-only from the first byte.
        var temporary = file + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(pem);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, file, overwrite: true);
        return new NodeKey(created);
    }

    /// <summary>The node id of a public key (a DER SubjectPublicKeyInfo): the first 16 bytes of its SHA-256, in RFC 4122 byte order.</summary>
    public static Guid IdOf(ReadOnlySpan<byte> publicKey)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(publicKey, hash);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>Whether <paramref name="key"/> is on NIST P-256 (secp256r1), the only curve node keys use: not merely any 256-bit curve.</summary>
    public static bool IsP256(ECDsa key) => key.ExportParameters(includePrivateParameters: false).Curve.Oid.Value == "1.2.840.10045.3.1.7";

    /// <summary>Signs <paramref name="data"/> (SHA-256, P1363 format: <see cref="SignatureLength"/> bytes).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>
    /// Whether <paramref name="signature"/> is a signature of <paramref name="data"/> by <paramref name="publicKey"/>.
    /// False, never an exception, for a key that is not a P-256 SubjectPublicKeyInfo or a malformed signature.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureLength)
        {
            return false;
        }

        using var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(publicKey, out var read);
            if (read != publicKey.Length || !IsP256(key))
            {
                return false;
            }
        }
        catch (CryptographicException)
        {
            return false;
        }

        return key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>
    /// A self-signed certificate of this key for TLS, made once per process: only its public key matters (peers
    /// check the id it hashes to), so its names and dates carry nothing to trust.
    /// </summary>
    public X509Certificate2 Certificate => _certificate ??= MakeCertificate();

    public void Dispose()
    {
        _certificate?.Dispose();
        _key.Dispose();
    }

    private X509Certificate2 MakeCertificate()
    {
        var request = new CertificateRequest($"CN={NodeIdText.Format(Id)}", _key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        using var made = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));

        // Through PKCS#12 and back: Windows' TLS needs a certificate whose private key is not ephemeral.
#pragma warning disable SYSLIB0057 // X509CertificateLoader is .NET 9+; the engine targets net8.0.
        return new X509Certificate2(made.Export(X509ContentType.Pkcs12), (string?)null, X509KeyStorageFlags.Exportable);
#pragma warning restore SYSLIB0057
    }

    private static void RestrictToOwner(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(file);
        var others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & others) != 0)
        {
            File.SetUnixFileMode(file, mode & ~others);
        }
    }
}
