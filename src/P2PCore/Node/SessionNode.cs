using System.Runtime.CompilerServices;
using P2PTransfer.Common;
using P2PTransfer.Index;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Node;

/// <summary>A node of this process as the cmdlets manage it: <see cref="IManagedNode"/> over a <see cref="P2PNode"/>.</summary>
public sealed class SessionNode : IManagedNode
{
    internal SessionNode(P2PNode node) => Node = node;

    public P2PNode Node { get; }

    public Guid Id => Node.Id;

    public string Name => Node.Name;

    public string Endpoint => Node.Endpoint;

    public NodeStatus Status => Node.Status;

    public NodeLog? Log => Node.Log;

    public object Shown => Node;

    public Task<IReadOnlyList<P2PPeer>> GetPeersAsync(CancellationToken cancellationToken = default) => Task.FromResult(Node.GetPeers());

    public Task<P2PPeer> ConnectPeerAsync(string address, CancellationToken cancellationToken = default) => Node.ConnectPeerAsync(address, cancellationToken);

    public Task<bool> DisconnectPeerAsync(Guid nodeId) => Node.DisconnectPeerAsync(nodeId);

    public async Task PublishAsync(IReadOnlyList<string> paths, bool waitHashed, CancellationToken cancellationToken = default)
    {
        await Node.Index.PublishAsync(paths, cancellationToken).ConfigureAwait(false);
        if (waitHashed)
        {
            await Node.Index.WaitHashedAsync(paths, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task UnpublishAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default) => Node.Index.UnpublishAsync(paths, cancellationToken);

    public IAsyncEnumerable<SharedFile> GetFilesAsync(string name, CancellationToken cancellationToken = default) =>
        Each(() => Node.Index.GetFiles(name, cancellationToken), cancellationToken);

    public IAsyncEnumerable<SharedFile> GetFilesBelowAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken = default) =>
        Each(() => Node.Index.GetFilesBelow(paths, cancellationToken), cancellationToken);

    public IAsyncEnumerable<P2PSearchResult> SearchAsync(FileQuery query, SearchOptions options, bool localOnly, CancellationToken cancellationToken = default) =>
        localOnly ? Each(() => Node.SearchLocal(query, options.MaxResults, cancellationToken), cancellationToken) : Node.SearchAsync(query, options, cancellationToken);

    public Task StopAsync(TimeSpan? drainTimeout = null) => Node.StopAsync(drainTimeout);

    public override string ToString() => Node.ToString();

    private static async IAsyncEnumerable<T> Each<T>(Func<IEnumerable<T>> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var item in source())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }
    }
}
