using System.Security.Cryptography;
using P2PTransfer.Common;
using P2PTransfer.Identity;
using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>
/// Checks the proofs that responses and requests carry: the key must hash to the node id claimed, and the signature
/// must hold over the data. The imported key of each node is kept (at most <see cref="SearchLimits.VerifierCacheSize"/>,
/// the oldest going first), so a response from a source seen before costs one signature check and no key import.
/// </summary>
internal sealed class SignatureVerifier(int capacity = SearchLimits.VerifierCacheSize, TimeProvider? clock = null)
{
    private readonly object _gate = new();
    private readonly ExpiringMap<Guid, ECDsa> _keys = new(capacity, SearchLimits.VerifierLifetime, clock);

    /// <summary>True when <paramref name="proof"/> is <paramref name="nodeId"/>'s signature of <paramref name="data"/>. Never throws for what a peer sent.</summary>
    public bool Verify(Guid nodeId, KeyProof proof, ReadOnlySpan<byte> data)
    {
        if (proof.Signature.Length != KeyProof.SignatureLength || proof.PublicKey.Length == 0 || NodeKey.IdOf(proof.PublicKey) != nodeId)
        {
            return false;
        }

        if (KeyOf(nodeId, proof.PublicKey) is not { } key)
        {
            return false;
        }

        // An ECDsa object is not documented as safe for use by two threads at once.
        lock (key)
        {
            return key.VerifyData(data, proof.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    private ECDsa? KeyOf(Guid nodeId, byte[] publicKey)
    {
        lock (_gate)
        {
            // The id is the key's hash, so one id has one key.
            if (_keys.TryGetValue(nodeId, out var known))
            {
                return known;
            }
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(publicKey, out int read);
            if (read != publicKey.Length || !Identity.NodeKey.IsP256(key))
            {
                key.Dispose();
                return null;
            }
        }
        catch (CryptographicException)
        {
            key.Dispose();
            return null;
        }

        lock (_gate)
        {
            // Keys that fall out of the map are left to the collector: another thread may still be checking with one.
            return _keys.TryAdd(nodeId, key, out var other) ? key : other;
        }
    }
}
