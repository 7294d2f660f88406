using P2PTransfer.Transfer;

namespace P2PTransfer.Module;

/// <summary>
/// The downloads of this PowerShell process (its runspaces and jobs share them): every Receive-P2PFile lists its
/// files here while it runs, a job until it is removed. Downloads need no node, so the list is the session's, kept
/// by the module like its nodes.
/// </summary>
public static class SessionTransfers
{
    public static TransferRegistry Registry { get; } = new();
}
