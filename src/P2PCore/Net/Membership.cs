using System.Security.Cryptography;
using System.Text;
using P2PTransfer.Protocol;

namespace P2PTransfer.Net;

/// <summary>
/// Proofs that a side of a connection holds a private network's key (docs/protocol.md section 5): an HMAC-SHA256
/// under the key over both TLS-proven ids and both nonces of this connection, so a proof is worth nothing on any
/// other connection, replayed or relayed.
/// </summary>
internal static class Membership
{
    /// <summary>The label every proof starts with (ASCII).</summary>
    public const string Label = "P2PTransfer membership proof v2";

    /// <summary>The role byte of the server's proof (in its Welcome).</summary>
    public const byte ServerRole = 1;

    /// <summary>The role byte of the dialer's proof (its MembershipProof frame).</summary>
    public const byte DialerRole = 2;

    /// <summary>HMAC-SHA256(key, label || role || dialerId || serverId || dialerNonce || serverNonce), ids in their 16-byte wire form.</summary>
    public static Bytes32 Proof(byte[] networkKey, byte role, Guid dialerId, Guid serverId, Bytes32 dialerNonce, Bytes32 serverNonce)
    {
        var label = Encoding.ASCII.GetBytes(Label);
        var input = new byte[label.Length + 1 + 16 + 16 + Bytes32.Length + Bytes32.Length];
        label.CopyTo(input, 0);
        int at = label.Length;
        input[at++] = role;
        dialerId.TryWriteBytes(input.AsSpan(at, 16), bigEndian: true, out _);
        at += 16;
        serverId.TryWriteBytes(input.AsSpan(at, 16), bigEndian: true, out _);
        at += 16;
        dialerNonce.CopyTo(input.AsSpan(at, Bytes32.Length));
        at += Bytes32.Length;
        serverNonce.CopyTo(input.AsSpan(at, Bytes32.Length));
        return Bytes32.From(HMACSHA256.HashData(networkKey, input));
    }
}
