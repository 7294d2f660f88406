using System.Net;

namespace P2PTransfer.Discovery;

/// <summary>How a node announces itself on its local networks and how much it lets announcements make it dial.</summary>
public sealed class DiscoveryOptions
{
    /// <summary>IPv4 multicast group of announcements: organisation-local scope (RFC 2365), never routed off site.</summary>
    public static readonly IPAddress DefaultGroup = IPAddress.Parse("239.255.80.50");

    /// <summary>UDP port of announcements (TCP's default port number; UDP is another space).</summary>
    public const int DefaultPort = 47100;

    /// <summary>False: neither announce nor listen (Start-P2PNode -NoDiscovery).</summary>
    public bool Enabled { get; set; } = true;

    public IPAddress Group { get; set; } = DefaultGroup;

    public int Port { get; set; } = DefaultPort;

    /// <summary>How often a node announces itself (Syncthing: 30 s); it also announces once at start.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Dials that announcements may cause, in all, per minute: a flood of fake announcements costs this much at most.</summary>
    public int MaxDialsPerMinute { get; set; } = 10;

    /// <summary>After a dial to an announced node, the same node id is not dialed again for this long; doubled after each failure, up to an hour.</summary>
    public TimeSpan RedialAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Node ids remembered (with their next allowed dial): older ones are forgotten first.</summary>
    public int MaxRemembered { get; set; } = 256;
}
