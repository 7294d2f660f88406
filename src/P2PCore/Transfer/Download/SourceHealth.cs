using P2PTransfer.Client;
using P2PTransfer.Net;
using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// The state of a download's sources and the one policy that decides, for the piece list and the pieces alike, when
/// a source is asked again, benched or dropped. A 'busy' answer is not a failure: the source is benched for
/// <see cref="TransferLimits.BusyRetryDelay"/> and asked again, until it has been busy for
/// <see cref="TransferLimits.BusyGiveUpAfter"/>. A source that delivers nothing for the stall timeout, fails or sends
/// bad data is dropped for the rest of the download. Dropping is recorded in <see cref="DownloadItem.SourceFailures"/>
/// for the user; decisions read this state, never that record.
/// </summary>
internal sealed class SourceHealth(DownloadItem item, TimeSpan stallTimeout, Action<string>? trace)
{
    private readonly object _gate = new();
    private readonly HashSet<string> _dropped = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<ProtocolError> _failureCodes = [];
    // Sources whose last answers were 'busy': since when, and when last.
    private readonly Dictionary<string, (long Since, long Last)> _busy = new(StringComparer.OrdinalIgnoreCase);
    private long? _firstBusy;

    /// <summary>True once a source was dropped: it is not asked again by this download.</summary>
    public bool IsDropped(string source)
    {
        lock (_gate)
        {
            return _dropped.Contains(source);
        }
    }

    /// <summary>True while a source that answered 'busy' waits out <see cref="TransferLimits.BusyRetryDelay"/>.</summary>
    public bool IsBenched(string source, long now)
    {
        lock (_gate)
        {
            return _busy.TryGetValue(source, out var busy) && now - busy.Last < TransferLimits.BusyRetryDelay.TotalMilliseconds;
        }
    }

    /// <summary>
    /// A source answered 'busy': it is benched. True while it may be asked again; false once it has been busy for
    /// longer than <see cref="TransferLimits.BusyGiveUpAfter"/> (the caller then drops it with that answer).
    /// </summary>
    public bool Busy(string source, long now)
    {
        lock (_gate)
        {
            var since = _busy.TryGetValue(source, out var busy) ? busy.Since : now;
            _busy[source] = (since, now);
            _firstBusy ??= now;
            return !BusyTooLong(since, now);
        }
    }

    /// <summary>A source delivered (or a new run of it starts): its 'busy' answers are behind it.</summary>
    public void Delivered(string source)
    {
        lock (_gate)
        {
            _busy.Remove(source);
        }
    }

    /// <summary>The piece list arrived: 'busy' answers to it count no more (each source's pieces start afresh).</summary>
    public void ForgetBusy()
    {
        lock (_gate)
        {
            _busy.Clear();
            _firstBusy = null;
        }
    }

    /// <summary>
    /// True while some source answered 'busy' and has not been dropped, and the first 'busy' answer is younger than
    /// <see cref="TransferLimits.BusyGiveUpAfter"/>: worth waiting for one to be asked again.
    /// </summary>
    public bool WorthWaitingForBusy(long now)
    {
        lock (_gate)
        {
            return _busy.Count > 0 && now - _firstBusy!.Value < TransferLimits.BusyGiveUpAfter.TotalMilliseconds;
        }
    }

    /// <summary>Drops every source still busy (none other is left to ask).</summary>
    public void DropStillBusy()
    {
        List<string> stillBusy;
        lock (_gate)
        {
            stillBusy = [.. _busy.Keys];
        }

        foreach (var source in stillBusy)
        {
            Drop(source, new NodeUnavailableException(ProtocolError.NodeBusy, $"still busy after {TransferLimits.BusyGiveUpAfter.TotalSeconds:0} s"));
        }
    }

    /// <summary>Drops a source for the rest of the download, recording why for the user.</summary>
    public void Drop(string source, Exception reason)
    {
        lock (_gate)
        {
            _dropped.Add(source);
            _busy.Remove(source);
            _failureCodes.Add(reason is P2PException p2p ? p2p.Code : ProtocolError.ConnectionLost);
        }

        item.SourceFailed(source, reason.Message);
        trace?.Invoke($"{item.Name}: dropped source {source}: {reason.Message}");
    }

    /// <summary>The download's error when every source was dropped: each source's reason, and the code they share.</summary>
    public P2PException NoSourceLeft(string state)
    {
        var reasons = string.Join("; ", item.SourceFailures.Select(f => $"{f.Key}: {f.Value}"));
        List<ProtocolError> codes;
        lock (_gate)
        {
            codes = [.. _failureCodes];
        }

        // One reason shared by every source (the file is unknown everywhere, every copy is bad) is the error's code.
        var code = codes.Count == 1 ? codes[0] : codes.Contains(ProtocolError.VerificationFailed) ? ProtocolError.VerificationFailed : ProtocolError.ConnectionLost;
        return new P2PException(code, $"'{item.Name}' could not be downloaded ({state}); every source failed: {reasons}");
    }

    /// <summary>
    /// Waits for an answer while the source keeps delivering: answers to transfer requests, or bytes of a piece still
    /// on its way. One that delivers nothing for the stall timeout is given up on, even if it answers keep-alive pings.
    /// </summary>
    public async Task<T> WithinStallTimeoutAsync<T>(Task<T> request, NodeClient client, string source, CancellationToken cancellationToken)
    {
        long waitingSince = Environment.TickCount64;
        long lookedAt = waitingSince;
        while (true)
        {
            try
            {
                return await request.WaitAsync(ConnectionLiveness.StallLookInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                long now = Environment.TickCount64;
                long delivered = Math.Max(client.LastTransferAnswer, client.Connection.LastLargeFrameProgress);
                bool stalled = IsStalled(now, lookedAt, waitingSince, delivered, stallTimeout);
                lookedAt = now;
                if (stalled)
                {
                    // Whatever arrives later is not needed.
                    AbandonedRequest.Discard(request);
                    throw new P2PException(ProtocolError.Timeout, $"{source} delivered nothing for {stallTimeout.TotalSeconds:0.#} s");
                }
            }
        }
    }

    /// <summary>
    /// The stall rule for a wait that began at <paramref name="waitingSince"/> on a source that last delivered at
    /// <paramref name="lastDelivery"/> (milliseconds): the connections' one liveness policy judges it, late looks
    /// included (<see cref="ConnectionLiveness.HasStalled"/>).
    /// </summary>
    public static bool IsStalled(long now, long previousLook, long waitingSince, long lastDelivery, TimeSpan stallTimeout) =>
        ConnectionLiveness.HasStalled(now, previousLook, Math.Max(waitingSince, lastDelivery), stallTimeout);

    private static bool BusyTooLong(long since, long now) => now - since > TransferLimits.BusyGiveUpAfter.TotalMilliseconds;
}
