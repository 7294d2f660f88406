using P2PTransfer.Discovery;
using P2PTransfer.Index;
using P2PTransfer.Protocol;

namespace P2PTransfer.Node;

/// <summary>Everything a node is started with. Defaults are documented in README and docs/protocol.md.</summary>
public sealed class NodeOptions
{
    /// <summary>The port a node listens on when none is given.</summary>
    public const int DefaultPort = ProtocolLimits.DefaultPort;

    /// <summary>Display name and, unless <see cref="StateDirectory"/> is given, the name of the state folder.</summary>
    public string? Name { get; set; }

    /// <summary>What the node shares (folders, files, exclusions) and how it indexes them.</summary>
    public IndexOptions Index { get; set; } = new();

    /// <summary>IP address to listen on; "0.0.0.0" (all IPv4 interfaces) by default.</summary>
    public string ListenAddress { get; set; } = "0.0.0.0";

    /// <summary>TCP port; 0 picks a free one.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Host that other nodes should dial; by default the listen address, or this machine's first private IPv4 address when listening on all interfaces.</summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>Folder for the node's identity and data; by default one folder per node name under the user's local application data.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>Endpoints to link to at start and to keep linked (Start-P2PNode -Peer): dialed again with backoff whenever the link is down.</summary>
    public IReadOnlyList<string> Peers { get; set; } = [];

    /// <summary>Links the node keeps: while it has fewer, it dials nodes it knows (those it was linked to, those its peers told it of). 0: only -Peer ones.</summary>
    public int TargetPeers { get; set; } = 8;

    /// <summary>How often the node checks its links against <see cref="Peers"/> and <see cref="TargetPeers"/>.</summary>
    public TimeSpan LinkCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>LAN discovery: announce this node on its local networks and link to the nodes announced there.</summary>
    public DiscoveryOptions Discovery { get; set; } = new();

    /// <summary>Listen on a local control channel, so that other sessions of this user can manage the node (docs/control.md).</summary>
    public bool Control { get; set; } = true;

    /// <summary>Folder of the control sockets; by default $XDG_RUNTIME_DIR/p2ptransfer, else ~/.local/state/p2ptransfer/control.</summary>
    public string? ControlDirectory { get; set; }

    /// <summary>How long Stop lets work under way finish before cancelling it.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection quiet for this long gets a Ping.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A connection quiet for this long, whose keep-alive ping went unanswered, is closed.</summary>
    public TimeSpan DeadAfter { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>A dialer must complete its Hello within this time.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Inbound connections (clients and peers, including those still in their handshake) beyond which new ones are answered 'busy'.</summary>
    public int MaxConnections { get; set; } = 512;

    /// <summary>Downloaders served at once; further ones are told 'busy' and try another source or later.</summary>
    public int MaxUploads { get; set; } = Transfer.TransferLimits.DefaultMaxUploads;

    /// <summary>Cascade workers taking requests from the search queue.</summary>
    public int SearchWorkers { get; set; } = Math.Clamp(Environment.ProcessorCount, 2, 4);

    /// <summary>Requests that may wait for a cascade worker; beyond that, requests from peers are dropped and counted.</summary>
    public int SearchQueueCapacity { get; set; } = 1024;

    /// <summary>Search requests a linked server may send per second on average (twice as many in a burst); more are dropped and counted.</summary>
    public double QueriesPerPeerPerSecond { get; set; } = 1000;
}
