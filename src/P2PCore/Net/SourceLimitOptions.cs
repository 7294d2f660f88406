namespace P2PTransfer.Net;

/// <summary>The limits per source a node's listener runs with (from the node's options, where their defaults are).</summary>
/// <param name="ClientsPerAddress">Client connections one address may hold at once.</param>
/// <param name="PeersPerAddress">Peer links one address may hold at once (inbound).</param>
/// <param name="PeersPerSubnet">Peer links one /24 (IPv4) or /64 (IPv6) subnet may hold at once (inbound).</param>
/// <param name="ConnectsPerMinute">Connections one address may open a minute (a bucket of this many, refilled over a minute); one more starts a ban.</param>
/// <param name="FirstBan">How long an address is refused the first time it connects too often.</param>
/// <param name="LongestBan">Each further ban doubles, up to this.</param>
internal sealed record SourceLimitOptions(int ClientsPerAddress, int PeersPerAddress, int PeersPerSubnet, int ConnectsPerMinute, TimeSpan FirstBan, TimeSpan LongestBan);
