using P2PTransfer.Common;
using P2PTransfer.Index;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>
/// What the cmdlets do to a node, whether it runs in this process (<see cref="SessionNode"/>, over a
/// <see cref="P2PNode"/>) or in another session or a service of the same user (<see cref="RemoteNode"/>, over the
/// node's control channel). Both return the same objects.
/// </summary>
public interface IManagedNode : IPeerHost
{
    NodeStatus Status { get; }

    /// <summary>The node's log, to relay while a command waits; null for a node in another process.</summary>
    NodeLog? Log { get; }

    /// <summary>The object that stands for the node in the pipeline: the <see cref="P2PNode"/>, or the <see cref="RemoteNode"/>.</summary>
    object Shown { get; }

    Task<IReadOnlyList<P2PPeer>> GetPeersAsync(CancellationToken cancellationToken = default);

    Task<P2PPeer> ConnectPeerAsync(string address, CancellationToken cancellationToken = default);

    /// <summary>Shares more paths; with <paramref name="waitHashed"/>, returns once they are hashed and searchable.</summary>
    Task PublishAsync(IReadOnlyList<string> paths, bool waitHashed, CancellationToken cancellationToken = default);

    Task UnpublishAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default);

    /// <summary>The shared files whose name matches the wildcard.</summary>
    IAsyncEnumerable<SharedFile> GetFilesAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The shared files at or below these paths.</summary>
    IAsyncEnumerable<SharedFile> GetFilesBelowAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default);

    /// <summary>A search entered at this node; with <paramref name="localOnly"/>, of its own index only.</summary>
    IAsyncEnumerable<P2PSearchResult> SearchAsync(FileQuery query, SearchOptions options, bool localOnly, CancellationToken cancellationToken = default);

    /// <summary>Graceful stop; returns once the node has stopped.</summary>
    Task StopAsync(TimeSpan? drainTimeout = null);
}
