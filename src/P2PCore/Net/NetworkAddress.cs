using System.Globalization;
using System.Net;
using System.Net.Sockets;
using P2PTransfer.Protocol;

namespace P2PTransfer.Net;

/// <summary>Parses and resolves the 'host:port' strings users type and nodes advertise ("[::1]:47100" for IPv6).</summary>
internal static class NetworkAddress
{
    public static (string Host, int Port) Parse(string text, int defaultPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        text = text.Trim();
        string host = text;
        string? port = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0)
            {
                throw new FormatException($"'{text}' is not a valid address: missing ']'");
            }

            host = text[1..close];
            if (close + 1 < text.Length)
            {
                if (text[close + 1] != ':')
                {
                    throw new FormatException($"'{text}' is not a valid address: expected ':' after ']'");
                }

                port = text[(close + 2)..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            int colon = text.IndexOf(':');
            host = text[..colon];
            port = text[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            throw new FormatException($"'{text}' is not a valid address: no host");
        }

        if (port is null)
        {
            return (host, defaultPort);
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number is < 1 or > 65535)
        {
            throw new FormatException($"'{text}' is not a valid address: port must be 1-65535");
        }

        return (host, number);
    }

    public static string Format(string host, int port) =>
        host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    public static string Format(IPEndPoint endpoint) => Format(endpoint.Address.ToString(), endpoint.Port);

    public static async Task<IPEndPoint> ResolveAsync(string text, int defaultPort, CancellationToken cancellationToken)
    {
        var (host, port) = Parse(text, defaultPort);
        if (IPAddress.TryParse(host, out var literal))
        {
            return new IPEndPoint(literal, port);
        }

        if (IsReservedInvalid(host))
        {
            // RFC 6761, 6.4: names under .invalid never resolve, and resolvers answer so at once, without asking the network.
            throw new P2PException(ProtocolError.HostNotFound, $"cannot resolve '{host}' ({text}): names under .invalid never exist (RFC 6761)");
        }

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw ResolveFailure(ex, host, text);
        }

        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
        return chosen is null
            ? throw new P2PException(ProtocolError.HostNotFound, $"cannot resolve '{host}' ({text}): it has no address")
            : new IPEndPoint(chosen, port);
    }

    /// <summary>
    /// A failed name look-up: HostNotFound only when the name servers say the name has no address (no such name, no
    /// data); any other failure (no answer yet, no name server reachable) may pass, so it is ConnectionLost.
    /// </summary>
    internal static P2PException ResolveFailure(SocketException ex, string host, string text) =>
        ex.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData
            ? new P2PException(ProtocolError.HostNotFound, $"cannot resolve '{host}' ({text}): {ex.Message}", ex)
            : new P2PException(ProtocolError.ConnectionLost, $"cannot look up '{host}' ({text}) now: {ex.Message}", ex);

    /// <summary>The special-use name 'invalid' and every name below it (RFC 6761).</summary>
    private static bool IsReservedInvalid(string host)
    {
        var name = host.TrimEnd('.');
        return name.Equals("invalid", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase);
    }
}
