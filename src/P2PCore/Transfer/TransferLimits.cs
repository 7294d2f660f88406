using P2PTransfer.Index;
using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>The numbers of the transfer protocol and of downloads (docs/protocol.md §15).</summary>
public static class TransferLimits
{
    /// <summary>Piece size of protocol version 1: 1 MiB, the unit of requests, verification and resume.</summary>
    public const int PieceSize = ProtocolLimits.PieceSize;

    /// <summary>Piece hashes in one PieceList frame (512 KiB of hashes: a 16 GiB file's list in one frame).</summary>
    public const int MaxPieceHashesPerFrame = ProtocolLimits.MaxPieceHashesPerFrame;

    /// <summary>Pieces a downloader keeps requested from one source at once (enough to keep a fast link busy).</summary>
    public const int PiecesInFlightPerSource = 8;

    /// <summary>A source's first pieces of a file, each hashed as it arrives (<see cref="ArrivalChecks"/>).</summary>
    public const int PiecesCheckedFirst = 4;

    /// <summary>After those, one piece in this many (at random) is hashed as it arrives; the whole-file hash covers the rest.</summary>
    public const int CheckOneIn = 32;

    /// <summary>
    /// Arrived pieces the whole-file hashers of a process hold for their turn at most (32 MiB): four sources' pieces in
    /// flight, which arrive out of order. Pieces beyond it are read back from the partial file.
    /// </summary>
    public const int PiecesHeldForHashing = 32;

    /// <summary>Default concurrent uploads a node serves (downloaders with requests under way); more are told 'busy'.</summary>
    public const int DefaultMaxUploads = 16;

    /// <summary>An upload with no request under way for this long gives its slot back.</summary>
    public static readonly TimeSpan UploadIdleAfter = TimeSpan.FromSeconds(3);

    /// <summary>The same on a closing node: downloaders that are done do not hold up the drain.</summary>
    public static readonly TimeSpan UploadIdleAfterWhileClosing = TimeSpan.FromSeconds(1);

    /// <summary>Open files an upload keeps (by hash), so small files in a row and pieces of one file do not reopen.</summary>
    public const int OpenFilesPerUpload = 32;

    /// <summary>A source that sends nothing for this long while pieces are requested from it is dropped.</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Default files downloaded at once by one command.</summary>
    public const int DefaultThrottleLimit = 16;

    /// <summary>Default sources used at once for one file.</summary>
    public const int DefaultMaxSources = 8;

    /// <summary>Addresses one node (a search result's node id) may serve a download from; further ones it claims are ignored.</summary>
    public const int MaxAddressesPerNode = 2;

    /// <summary>How long a downloader waits before asking a busy source again.</summary>
    public static readonly TimeSpan BusyRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>A file waits this long in all for a busy source (the others failed) before it fails.</summary>
    public static readonly TimeSpan BusyGiveUpAfter = TimeSpan.FromSeconds(60);

    /// <summary>Largest file a downloader accepts (2 TiB: a piece list of 64 MiB); a source announcing more is dropped.</summary>
    public const long MaxFileSize = 2L << 40;

    public static int PieceCount(long size) => FileDigest.PieceCount(size);

    public static int PieceLength(long size, int piece) => (int)Math.Min(PieceSize, size - ((long)piece * PieceSize));
}
