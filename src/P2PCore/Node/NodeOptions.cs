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

    /// <summary>
    /// A private network's key (32 bytes, <see cref="Identity.NetworkKey"/>): the node links to, answers and serves
    /// only nodes and clients that prove they hold it, and proves it to them. Null: an open network.
    /// </summary>
    public byte[]? NetworkKey { get; set; }

    /// <summary>The file <see cref="NetworkKey"/> was read from, if it came from one: kept in node.json (the key itself never is), so the service host starts the node on the same network.</summary>
    public string? NetworkKeyFile { get; set; }

    /// <summary>
    /// The only nodes (and clients, by their ids) the node links to, answers and serves, besides itself; null or
    /// empty for all. Ids as TLS proves them (docs/protocol.md section 1).
    /// </summary>
    public IReadOnlyCollection<Guid>? TrustedNodes { get; set; }

    /// <summary>Search requests a linked server may send per second on average (twice as many in a burst); more are dropped and counted.</summary>
    public double QueriesPerPeerPerSecond { get; set; } = 1000;

    /// <summary>Client connections one remote address may hold at once; one more is refused (Error 210 TooManyConnections).</summary>
    public int MaxClientsPerAddress { get; set; } = 16;

    /// <summary>Peer links one remote address may open to this node at once; one more is refused (Error 210).</summary>
    public int MaxPeersPerAddress { get; set; } = 4;

    /// <summary>Peer links one /24 (IPv4) or /64 (IPv6) subnet may open to this node at once; one more is refused (Error 210).</summary>
    public int MaxPeersPerSubnet { get; set; } = 16;

    /// <summary>Connections one remote address may open a minute (in bursts of as many); one more bans the address for <see cref="FirstBan"/>.</summary>
    public int ConnectsPerMinutePerAddress { get; set; } = 60;

    /// <summary>How long an address that connects too often is refused; each further ban doubles, up to <see cref="LongestBan"/>.</summary>
    public TimeSpan FirstBan { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest ban; an address that stays clean this long after a ban starts again from <see cref="FirstBan"/>.</summary>
    public TimeSpan LongestBan { get; set; } = TimeSpan.FromHours(4);

    /// <summary>A client with nothing under way for this long may be closed (Bye NodeBusy) when more than 7/8 of <see cref="MaxConnections"/> are in use.</summary>
    public TimeSpan IdleClientTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Clients' searches that may wait for the clients' cascade worker (their own queue: peers' requests never hold them up); beyond that they are refused NodeBusy.</summary>
    public int ClientSearchQueueCapacity { get; set; } = 256;

    /// <summary>
    /// Time one peer link may make the node work for it a second on average (four times as much in a burst): cascade
    /// workers answering its requests and sending on the link. A link over it has its requests dropped until it is back within.
    /// </summary>
    public TimeSpan WorkPerPeerPerSecond { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Time one remote address (all its links and clients together) may make the node work for it a second on average
    /// (four times as much in a burst): a quarter of one processor, so no one host takes more than a fraction of the node.
    /// </summary>
    public TimeSpan WorkPerAddressPerSecond { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A request with a pattern is answered before it is sent on, and sent on only if its pattern took less than this over the node's names.</summary>
    public TimeSpan ForwardPatternWithin { get; set; } = TimeSpan.FromMilliseconds(100);
}
