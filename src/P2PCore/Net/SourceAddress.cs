using System.Net;
using System.Net.Sockets;

namespace P2PTransfer.Net;

/// <summary>
/// Where a connection comes from, as the limits per source count it: the remote's IP address (an IPv4 address
/// mapped into IPv6 counts as the IPv4 address) and its subnet, the /24 of an IPv4 address or the /64 of an IPv6 one.
/// A transport whose remote is not an IP address (an in-memory pipe) is one source of its own.
/// </summary>
internal readonly record struct SourceAddress(string Address, string Subnet)
{
    /// <summary>The source of a connection whose remote is <paramref name="remoteAddress"/> ('ip:port' or '[ipv6]:port').</summary>
    public static SourceAddress Of(string remoteAddress)
    {
        if (!IPEndPoint.TryParse(remoteAddress, out var endpoint))
        {
            return new SourceAddress(remoteAddress, remoteAddress);
        }

        var ip = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        var bytes = ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            return new SourceAddress(ip.ToString(), $"{bytes[0]}.{bytes[1]}.{bytes[2]}.0/24");
        }

        ip.ScopeId = 0;
        Array.Clear(bytes, 8, 8);
        return new SourceAddress(ip.ToString(), $"{new IPAddress(bytes)}/64");
    }
}
