using P2PTransfer.Identity;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Tests.Support;

/// <summary>Proofs for frames a test writes: real signatures by a test's key, or a well-formed proof that verifies for nobody.</summary>
internal static class Signing
{
    /// <summary>A key of P-256's length and a signature of the right size, all zeros: reads fine, verifies for no one.</summary>
    public static KeyProof NoProof => new(new byte[91], new byte[KeyProof.SignatureLength]);

    /// <summary>A source with <see cref="NoProof"/>: for frames whose signature nobody checks (or must fail).</summary>
    public static SourceNode Unsigned(Guid nodeId, string name, string endpoint) => new(nodeId, name, endpoint, NoProof);

    /// <summary>A source signed by <paramref name="key"/> for one response, as a real node would send it.</summary>
    public static SourceNode Source(NodeKey key, string name, string endpoint, Guid requestId, ushort batch, IReadOnlyList<FoundFile> files) =>
        new SourceSigner(key, name, endpoint).Sign(requestId, batch, files);

    /// <summary>The proof of an entry server with <paramref name="key"/> at <paramref name="endpoint"/> for a request.</summary>
    public static KeyProof Entry(NodeKey key, string endpoint, Guid requestId) => new SourceSigner(key, "entry", endpoint).SignEntry(requestId);
}
