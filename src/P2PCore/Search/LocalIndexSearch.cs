using P2PTransfer.Index;
using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>Looks a compiled query up in this node's own index: at most <paramref name="maxResults"/> files, stopping when cancelled.</summary>
internal delegate IEnumerable<SharedFile> LocalIndexSearch(CompiledQuery query, int maxResults, CancellationToken cancellationToken);
