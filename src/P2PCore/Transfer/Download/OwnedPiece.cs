using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Transfer;

/// <summary>
/// A received piece whose pooled buffer this holder must give back: <see cref="Dispose"/> releases it, unless it was
/// handed on with <see cref="HandOver"/> (then the new owner releases it). Held in a plain local with try/finally (a
/// using variable would be a read-only copy).
/// </summary>
internal struct OwnedPiece(PieceData piece) : IDisposable
{
    private PieceData? _piece = piece;

    public readonly PieceData Piece => _piece ?? throw new ObjectDisposedException(nameof(OwnedPiece));

    /// <summary>Gives the buffer to a new owner: from here on this holder releases nothing.</summary>
    public PieceData HandOver()
    {
        var piece = Piece;
        _piece = null;
        return piece;
    }

    public void Dispose()
    {
        _piece?.Release();
        _piece = null;
    }
}
