using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace P2PTransfer.Net;

/// <summary>The addresses a node listens on and tells others to dial.</summary>
internal static class LocalAddresses
{
    /// <summary>'*' or empty: every address; 'localhost': the IPv4 loopback; else an IP address.</summary>
    public static IPAddress ParseListenAddress(string text) => text switch
    {
        "*" or "" => IPAddress.Any,
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(text, out var address) => address,
        _ => throw new ArgumentException($"'{text}' is not an IP address to listen on", nameof(text)),
    };

    /// <summary>Servers know private addresses (the seed): listening everywhere, advertise the first private IPv4 of an interface that is up.</summary>
    public static string AdvertisedHostFor(IPAddress listenAddress)
    {
        if (!listenAddress.Equals(IPAddress.Any) && !listenAddress.Equals(IPAddress.IPv6Any))
        {
            return listenAddress.ToString();
        }

        var candidates = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .ToList();
        var address = candidates.FirstOrDefault(IsPrivate) ?? candidates.FirstOrDefault() ?? IPAddress.Loopback;
        return address.ToString();
    }

    /// <summary>RFC 1918 ranges: 10/8, 172.16/12, 192.168/16.</summary>
    private static bool IsPrivate(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168);
    }
}
