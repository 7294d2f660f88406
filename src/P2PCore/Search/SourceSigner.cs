using P2PTransfer.Identity;
using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>This node as a source of responses and an entry server of requests: it signs both with its key.</summary>
internal sealed class SourceSigner(NodeKey key, string name, string endpoint)
{
    public Guid NodeId => key.Id;

    public string Name => name;

    public string Endpoint => endpoint;

    /// <summary>This node as its results name it where nothing goes on the wire (a local search): no proof.</summary>
    public SourceNode Local => new(key.Id, name, endpoint, new KeyProof([], []));

    /// <summary>This node as the source of one response: signed over the request, the batch, itself and the files.</summary>
    public SourceNode Sign(Guid requestId, ushort batch, IReadOnlyList<FoundFile> files) =>
        new(key.Id, name, endpoint, new KeyProof(key.PublicKey, key.Sign(SignedData.Response(requestId, batch, key.Id, name, endpoint, files))));

    /// <summary>This node's proof, as the entry server of a request, that it asked for responses at its endpoint.</summary>
    public KeyProof SignEntry(Guid requestId) =>
        new(key.PublicKey, key.Sign(SignedData.Entry(requestId, new RouteHop(key.Id, endpoint))));
}
