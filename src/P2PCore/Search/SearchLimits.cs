using P2PTransfer.Protocol;

namespace P2PTransfer.Search;

/// <summary>Limits of network search, in one place (docs/protocol.md, "Search").</summary>
public static class SearchLimits
{
    /// <summary>Links a search travels from the entry server when the client does not say.</summary>
    public const int DefaultTtl = 5;

    /// <summary>Most links a search may travel; requests asking for more are clamped, and hops + TTL never exceed it.</summary>
    public const int MaxTtl = 7;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Most files one server announces for one request.</summary>
    public const int MaxHitsPerSource = 5000;

    /// <summary>Hits are sent in frames of about this many bytes, so no frame holds up a link for long.</summary>
    public const int HitBytesPerFrame = ProtocolLimits.HitBytesPerFrame;

    /// <summary>Results an entry server keeps for a reader that does not keep up; beyond that they are dropped and counted.</summary>
    public const int MaxBufferedResults = 50_000;

    /// <summary>Memory the results waiting for a slow reader may take, per search; beyond that they are dropped and counted.</summary>
    public const long MaxBufferedBytes = 64L * 1024 * 1024;

    /// <summary>A regular expression from another server may take this long over this node's names per request (a local search: 5 s).</summary>
    public static readonly TimeSpan RemoteRegexBudget = TimeSpan.FromMilliseconds(250);

    /// <summary>Frames a link's send queue must have free for routed search traffic, so keep-alive and goodbyes always fit.</summary>
    public const int SendQueueHeadroom = 64;

    /// <summary>
    /// Bytes a link's send queue may hold for requests from it to be taken and answered: beyond that its requests are
    /// dropped and this node's answer to it stops, so a remote that asks faster than it reads cannot pile answers up in memory.
    /// </summary>
    public const long MaxQueuedBytesPerLink = 1024 * 1024;

    /// <summary>Bytes of responses a link remembers for delivery after it breaks (besides their count, RecentResponses).</summary>
    public const long MaxRecentBytesPerLink = 2 * 1024 * 1024;

    /// <summary>Responses a client connection (direct delivery) may send per second on average (twice as many in a burst).</summary>
    public const int DirectResponsesPerSecond = 1000;

    /// <summary>Searches one client connection may start per second on average (twice as many in a burst).</summary>
    public const int SearchesPerClientPerSecond = 200;

    /// <summary>Searches one client connection may have open at once.</summary>
    public const int MaxSearchesPerClient = 16;

    /// <summary>Public keys of sources and entry servers whose imported form a node keeps, so checking their signatures costs no import.</summary>
    public const int VerifierCacheSize = 4096;

    /// <summary>How long a kept public key stays unused before it may go.</summary>
    public static readonly TimeSpan VerifierLifetime = TimeSpan.FromMinutes(10);

    /// <summary>Direct-delivery dials one destination address may get per minute on average, whatever port or entry server they name.</summary>
    public const double DirectDialsPerMinute = 6;

    /// <summary>Direct-delivery dials one destination address may get at once before the rate applies.</summary>
    public const int DirectDialBurst = 3;

    /// <summary>A destination whose direct-delivery dial failed is not dialed again for this long at first ...</summary>
    public static readonly TimeSpan DirectDialBackoff = TimeSpan.FromMinutes(1);

    /// <summary>... doubling with each failure that follows, up to this long; a delivery that succeeds clears it.</summary>
    public static readonly TimeSpan MaxDirectDialBackoff = TimeSpan.FromHours(1);

    /// <summary>Destination addresses whose rate and back-off a node remembers (the oldest go first).</summary>
    public const int DirectDestinationsRemembered = 4096;
}
