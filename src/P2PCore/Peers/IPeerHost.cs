namespace P2PTransfer.Peers;

/// <summary>The node that holds a peer link, as a snapshot of the link (<see cref="P2PPeer.LocalNode"/>) names it.</summary>
public interface IPeerHost
{
    Guid Id { get; }

    string Name { get; }

    /// <summary>'host:port' that other nodes and clients dial.</summary>
    string Endpoint { get; }

    /// <summary>Closes the link to a node, waiting until the other node has let go of it; false if there was none.</summary>
    Task<bool> DisconnectPeerAsync(Guid nodeId);
}
