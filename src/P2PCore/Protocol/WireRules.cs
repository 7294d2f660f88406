using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace P2PTransfer.Protocol;

/// <summary>
/// What node names and endpoints may hold, beyond valid UTF-8 within their byte limit (docs/protocol.md section 5):
/// in Hello and Welcome, and in the backtrace stacks and sources of search messages (section 14). A frame that
/// breaks them is 100 MalformedFrame.
/// </summary>
internal partial class WireRules
{
    /// <summary>A node name: 1 to 64 of <c>A-Z a-z 0-9 . _ -</c>, the first a letter or digit.</summary>
    public static bool IsNodeName(string name) => NodeName().IsMatch(name);

    /// <summary>
    /// An endpoint: <c>host:port</c>, or <c>[ipv6]:port</c>. The host is a dotted-quad IPv4 address (no leading zeros) or
    /// a DNS host name (labels of 1-63 letters, digits, underscores and inner hyphens, 253 characters at most, the last label not all
    /// digits); the IPv6 address has no zone. The port is 1-65535 in decimal without leading zeros. At most 262 characters.
    /// </summary>
    public static bool IsEndpoint(string endpoint)
    {
        if (endpoint.Length is 0 or > ProtocolLimits.MaxEndpointBytes)
        {
            return false;
        }

        if (endpoint[0] == '[')
        {
            int close = endpoint.IndexOf(']');
            return close > 1 && close + 1 < endpoint.Length && endpoint[close + 1] == ':'
                && IsIPv6(endpoint[1..close]) && IsPort(endpoint[(close + 2)..]);
        }

        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0)
        {
            return false;
        }

        var host = endpoint[..colon];
        return (IsIPv4(host) || IsHostName(host)) && IsPort(endpoint[(colon + 1)..]);
    }

    private static bool IsPort(string text) =>
        text.Length is >= 1 and <= 5 && text[0] != '0' && text.All(char.IsAsciiDigit) && int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) <= 65535;

    private static bool IsIPv4(string host)
    {
        var parts = host.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit) && (p.Length == 1 || p[0] != '0') && int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) <= 255);
    }

    private static bool IsHostName(string host)
    {
        if (host.Length > 253)
        {
            return false;
        }

        var labels = host.Split('.');
        return labels.All(l => HostLabel().IsMatch(l)) && !labels[^1].All(char.IsAsciiDigit);
    }

    private static bool IsIPv6(string host) =>
        host.Contains(':') && host.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
        && IPAddress.TryParse(host, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;

    // \z, not $: $ also matches before a final line feed, so "a\n" would pass.
    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z")]
    private static partial Regex NodeName();

    [GeneratedRegex(@"\A[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\z")]
    private static partial Regex HostLabel();
}
