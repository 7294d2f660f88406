using P2PTransfer.Identity;
using Xunit;

namespace P2PTransfer.Tests.Identity;

public sealed class NodeKeyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("p2p-key-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_key_made_in_a_folder_is_the_same_key_on_every_later_load()
    {
        using var made = NodeKey.LoadOrCreate(_folder);
        using var loaded = NodeKey.LoadOrCreate(_folder);
        Assert.Equal(made.Id, loaded.Id);
        Assert.Equal(made.PublicKey, loaded.PublicKey);
    }

    [Fact]
    public void The_id_is_the_first_16_bytes_of_the_public_key_hash()
    {
        using var key = NodeKey.CreateEphemeral();
        var hash = System.Security.Cryptography.SHA256.HashData(key.PublicKey);
        Assert.Equal(new Guid(hash.AsSpan(0, 16), bigEndian: true), key.Id);
        Assert.Equal(key.Id, NodeKey.IdOf(key.PublicKey));
    }

    [Fact]
    public void The_private_key_file_is_readable_by_its_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var key = NodeKey.LoadOrCreate(_folder);
        var mode = File.GetUnixFileMode(Path.Combine(_folder, NodeKey.FileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Fact]
    public void A_key_file_others_could_read_is_made_owner_only_when_loaded()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using (NodeKey.LoadOrCreate(_folder))
        {
        }

        var file = Path.Combine(_folder, NodeKey.FileName);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using var key = NodeKey.LoadOrCreate(_folder);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public void A_damaged_key_file_is_refused_with_its_path_not_replaced()
    {
        var file = Path.Combine(_folder, NodeKey.FileName);
        File.WriteAllText(file, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        var error = Assert.Throws<InvalidDataException>(() => NodeKey.LoadOrCreate(_folder));
        Assert.Contains(file, error.Message);
        Assert.Contains("AAAA", File.ReadAllText(file));
    }

    [Fact]
    public void A_signature_verifies_with_the_signers_public_key_and_with_no_other()
    {
        using var signer = NodeKey.CreateEphemeral();
        using var other = NodeKey.CreateEphemeral();
        var data = "request 42: files and addresses"u8.ToArray();
        var signature = signer.Sign(data);

        Assert.Equal(NodeKey.SignatureLength, signature.Length);
        Assert.True(NodeKey.Verify(signer.PublicKey, data, signature));
        Assert.False(NodeKey.Verify(other.PublicKey, data, signature));
        data[0] ^= 1;
        Assert.False(NodeKey.Verify(signer.PublicKey, data, signature));
    }

    [Fact]
    public void Verify_says_false_for_a_malformed_key_or_signature_and_never_throws()
    {
        using var signer = NodeKey.CreateEphemeral();
        var data = new byte[] { 1, 2, 3 };
        var signature = signer.Sign(data);
        Assert.False(NodeKey.Verify(new byte[91], data, signature));
        Assert.False(NodeKey.Verify(signer.PublicKey.AsSpan(0, 50), data, signature));
        Assert.False(NodeKey.Verify([.. signer.PublicKey, 0], data, signature));
        Assert.False(NodeKey.Verify(signer.PublicKey, data, signature.AsSpan(0, 63)));
        Assert.False(NodeKey.Verify(signer.PublicKey, data, new byte[64]));
    }

    [Fact]
    public void A_signature_by_a_key_on_another_256_bit_curve_does_not_verify()
    {
        using var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.brainpoolP256r1);
        var data = new byte[] { 1, 2, 3 };
        var signature = other.SignData(data, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.Equal(256, other.KeySize);
        Assert.False(NodeKey.Verify(other.ExportSubjectPublicKeyInfo(), data, signature));
    }

    [Fact]
    public void The_certificate_holds_the_nodes_public_key()
    {
        using var key = NodeKey.CreateEphemeral();
        var certificate = key.Certificate;
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(key.PublicKey, certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }
}
