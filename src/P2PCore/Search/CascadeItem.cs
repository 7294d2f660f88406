using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>A request waiting for a cascade worker: a peer's Query, or a search entered at this node.</summary>
/// <param name="Received">The stack as it arrived (null at the entry server).</param>
/// <param name="Compiled">The query compiled once for this node's answer, with the pattern budget of whoever asked.</param>
/// <param name="From">The server it came from (empty at the entry server).</param>
/// <param name="Entry">The search, when this node is its entry server.</param>
/// <param name="EntryProof">The entry server's signature over the request id and its endpoint, sent on with the request.</param>
/// <param name="FromAddress">The remote address of the link it came over (null at the entry server).</param>
/// <param name="Source">Who pays for the worker time it takes: a peer link and its address, or a client's address; null for the node's own searches.</param>
internal sealed record CascadeItem(Guid RequestId, int Ttl, uint MaxResults, BacktraceStack? Received, FileQuery Query, CompiledQuery Compiled, Guid From, NetworkSearch? Entry, KeyProof EntryProof, RequestSource? Source = null, string? FromAddress = null);
