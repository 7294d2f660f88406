namespace P2PTransfer.Protocol;

/// <summary>
/// A public key and a signature made with it: what a signed source (docs/protocol.md section 14, Source) and a
/// Query's entry server carry. The key is a DER SubjectPublicKeyInfo, length-prefixed; the signature is P-256 in
/// IEEE P1363 form, 64 bytes. Reading checks only the lengths: whether the key hashes to the node id and the
/// signature holds is for the server that relies on it (section 14).
/// </summary>
internal sealed record KeyProof(byte[] PublicKey, byte[] Signature)
{
    /// <summary>Bytes of a signature: r and s of P-256, 32 bytes each.</summary>
    public const int SignatureLength = 64;

    internal int WireLength => 2 + PublicKey.Length + SignatureLength;

    internal void Write(ref PayloadWriter writer)
    {
        writer.WriteUInt16((ushort)PublicKey.Length);
        writer.WriteBytes(PublicKey);
        writer.WriteBytes(Signature);
    }

    /// <summary>Reads a key (1 to <see cref="ProtocolLimits.MaxPublicKeyBytes"/> bytes) and a 64-byte signature, or the frame is malformed.</summary>
    internal static KeyProof Read(ref PayloadReader reader, string field)
    {
        int length = reader.ReadUInt16();
        if (length is 0 or > ProtocolLimits.MaxPublicKeyBytes)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"{field} public key of {length} bytes: it has 1 to {ProtocolLimits.MaxPublicKeyBytes}");
        }

        var key = reader.ReadBytes(length);
        return new KeyProof(key, reader.ReadBytes(SignatureLength));
    }
}
