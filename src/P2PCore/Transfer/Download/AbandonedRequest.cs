using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Transfer;

/// <summary>An answer nobody waits for any more (its source stalled, failed or was given its pieces back).</summary>
internal static class AbandonedRequest
{
    /// <summary>Whenever the answer comes: a piece's buffer goes back to the pool, a failure is observed.</summary>
    public static void Discard<T>(Task<T> request) =>
        request.ContinueWith(
            static t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    (t.Result as PieceData)?.Release();
                }
                else
                {
                    _ = t.Exception;
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
}
