using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace P2PTransfer.Bench;

/// <summary>
/// What the node under test speaks, found out once at the start (<see cref="DetectAsync"/>): protocol 1 (plaintext
/// TCP) or protocol 2 (TLS 1.3 on every connection, each side presenting its key's certificate), and the Hello that
/// goes with it. The benches run against either, so they work before and after encryption lands.
/// </summary>
internal static class Transport
{
    public static bool Tls { get; private set; }

    /// <summary>Search messages carry key proofs: a Query its entry server's, a QueryHit's source its own (with either protocol).</summary>
    public static bool Signed { get; private set; }

    public static ushort Version => Tls ? (ushort)2 : (ushort)1;

    public static string Describe() => (Tls ? "protocol 2: TLS 1.3 on every connection" : "protocol 1: plaintext TCP") + (Signed ? ", signed search messages" : "");

    /// <summary>Tries a TLS handshake: a node of protocol 1 answers its first byte with an Error and closes.</summary>
    public static async Task DetectAsync(IPEndPoint node)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(node, cts.Token);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            await tls.AuthenticateAsClientAsync(ClientOptions(Identity.Client), cts.Token);
            Tls = true;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            Tls = false;
        }

        Signed = await TakesSignedQueryAsync(node);
    }

    /// <summary>
    /// Whether the node reads a Query with a key proof after its stack: over a peer link of its own, such a Query and
    /// a Ping; a node without signed search messages reads the key's length as query fields and refuses the frame
    /// (Error 100) instead of answering the Ping.
    /// </summary>
    private static async Task<bool> TakesSignedQueryAsync(IPEndPoint node)
    {
        var me = new Identity();
        var host = IPAddress.Parse("127.0.0.72");
        Signed = true;
        try
        {
            var (link, _) = await RawLink.HandshakeAsync(node, host, 2, me, $"{host}:47100", "probe", TimeSpan.FromSeconds(10));
            await using (link)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await link.SendAsync(Wire.QueryFrame(Guid.NewGuid(), 0, 1, [(me.Id, $"{host}:47100")], ["no-such-file"], "", me), cts.Token);
                await link.SendAsync(Wire.PingFrame(7), cts.Token);
                while (await link.ReadFrameAsync(cts.Token) is { } f)
                {
                    if (f.Code == Wire.Pong)
                    {
                        return true;
                    }

                    if (f.Code is Wire.Error or Wire.Bye)
                    {
                        return false;
                    }
                }

                return false;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public static SslClientAuthenticationOptions ClientOptions(Identity identity) => new()
    {
        TargetHost = string.Empty,   // no server name (SNI), as nodes do
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificates = [identity.Certificate],
        // The benches do not check whom they reach: they know the node they started.
        RemoteCertificateValidationCallback = (_, _, _, _) => true,
    };

    /// <summary>The Hello of the node's protocol for <paramref name="role"/> (1 client, 2 peer).</summary>
    public static byte[] Hello(byte role, Identity? identity, string endpoint, string name)
    {
        if (Tls)
        {
            // Protocol 2: the id TLS proves, for a pure client too (the process's own key).
            return Wire.HelloV2Frame(2, 2, role, (identity ?? Identity.Client).Id, endpoint, name);
        }

        return Wire.HelloFrame(1, role, role == 2 && identity is not null ? identity.Id : Guid.Empty, endpoint, name);
    }

    /// <summary>A Hello of the node's protocol with the given version fields, whatever they say (for the fuzzer).</summary>
    public static byte[] OddHello(ushort version, byte role, Guid id, string endpoint, string name) =>
        Tls ? Wire.HelloV2Frame(version, (ushort)(version + (version & 1)), role, id, endpoint, name) : Wire.HelloFrame(version, role, id, endpoint, name);

    /// <summary>A Welcome of the node's protocol (for the fuzzer: servers never take one).</summary>
    public static byte[] Welcome(Guid id) =>
        Tls ? Wire.Frame(Wire.Welcome, w => w.U16(2).U8(0).U64(0).Bytes(new byte[32]).Id(id).Str("127.0.0.9:47100").Str("x").U8(0))
            : Wire.Frame(Wire.Welcome, w => w.U16(1).U8(0).Id(id).Str("127.0.0.9:47100").Str("x"));
}
