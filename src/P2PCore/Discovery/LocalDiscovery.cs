using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using P2PTransfer.Common;

namespace P2PTransfer.Discovery;

/// <summary>
/// LAN discovery: a node multicasts an <see cref="Announcement"/> on each of its local IPv4 networks at start and
/// every <see cref="DiscoveryOptions.Interval"/>, listens for those of others, and links to the nodes it hears of
/// through <c>link</c>, which dials the datagram's source address and checks the announced id. Dials are made one at
/// a time from a bounded queue, within the limits of <see cref="AnnouncementFilter"/>. A node listening on loopback
/// only has no local network and announces nothing.
/// </summary>
internal sealed class LocalDiscovery : IDisposable
{
    private const int DialQueue = 16;
    private readonly Announcement _self;
    private readonly IReadOnlyList<IPAddress> _interfaces;
    private readonly DiscoveryOptions _options;
    private readonly Func<IPEndPoint, Guid, CancellationToken, Task> _link;
    private readonly NodeLog _log;
    private readonly TimeProvider _clock;
    private readonly AnnouncementFilter _filter;
    private readonly Socket _receiver;
    private readonly Channel<(IPEndPoint Endpoint, Guid NodeId)> _dials =
        Channel.CreateBounded<(IPEndPoint, Guid)>(new BoundedChannelOptions(DialQueue) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private long _sent;
    private long _received;
    private long _dialed;

    /// <summary>Binds the announcement port and joins the group on every interface now, so the node hears announcements from the moment it starts.</summary>
    public LocalDiscovery(Announcement self, IReadOnlyList<IPAddress> interfaces, DiscoveryOptions options, Func<Guid, bool> isLinked,
        Func<IPEndPoint, Guid, CancellationToken, Task> link, NodeLog log, TimeProvider? clock = null)
    {
        _self = self;
        _interfaces = interfaces;
        _options = options;
        _link = link;
        _log = log;
        _clock = clock ?? TimeProvider.System;
        _filter = new AnnouncementFilter(self.NodeId, self.NetworkTag, options, isLinked, _clock);
        _receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Several nodes on one host share the port: each gets every multicast datagram.
            _receiver.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _receiver.Bind(new IPEndPoint(IPAddress.Any, options.Port));
            foreach (var address in interfaces)
            {
                _receiver.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(options.Group, address));
            }
        }
        catch
        {
            _receiver.Dispose();
            throw;
        }
    }

    public long AnnouncementsSent => Interlocked.Read(ref _sent);

    public long AnnouncementsReceived => Interlocked.Read(ref _received);

    /// <summary>Dials that announcements caused.</summary>
    public long Dials => Interlocked.Read(ref _dialed);

    /// <summary>
    /// The IPv4 addresses to announce on for a node listening on <paramref name="listenAddress"/>: every interface
    /// that is up and can multicast when it listens everywhere, its own address when that is on such an interface,
    /// and none for loopback.
    /// </summary>
    public static IReadOnlyList<IPAddress> InterfacesFor(IPAddress listenAddress)
    {
        if (IPAddress.IsLoopback(listenAddress) || (listenAddress.AddressFamily != AddressFamily.InterNetwork && !listenAddress.Equals(IPAddress.IPv6Any)))
        {
            return [];
        }

        var candidates = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.SupportsMulticast && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        var everywhere = listenAddress.Equals(IPAddress.Any) || listenAddress.Equals(IPAddress.IPv6Any);
        return [.. candidates.Where(a => everywhere || a.Equals(listenAddress)).Distinct()];
    }

    /// <summary>The tag announcements of a network carry: 0 for the open network, else 8 bytes of an HMAC of its key, so members tell their own apart without showing the key.</summary>
    public static ulong TagOf(ReadOnlySpan<byte> networkKey)
    {
        if (networkKey.IsEmpty)
        {
            return 0;
        }

        var mac = HMACSHA256.HashData(networkKey, "P2PTransfer discovery tag v1"u8);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(mac);
    }

    /// <summary>Announces, listens and dials until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(AnnounceLoopAsync(cancellationToken), ReceiveLoopAsync(cancellationToken), DialLoopAsync(cancellationToken));

    public void Dispose() => _receiver.Dispose();

    private async Task AnnounceLoopAsync(CancellationToken cancellationToken)
    {
        var senders = new List<Socket>();
        try
        {
            foreach (var address in _interfaces)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, address.GetAddressBytes());
                    socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
                    socket.Bind(new IPEndPoint(address, 0));
                    senders.Add(socket);
                }
                catch (SocketException ex)
                {
                    // One interface that cannot send (gone since the node started, say) leaves the others announcing.
                    socket.Dispose();
                    _log.Write(NodeLogLevel.Warning, $"discovery: cannot announce on {address}: {ex.Message}");
                }
            }

            var datagram = _self.Encode();
            var group = new IPEndPoint(_options.Group, _options.Port);
            using var timer = new PeriodicTimer(_options.Interval, _clock);
            do
            {
                foreach (var socket in senders)
                {
                    try
                    {
                        await socket.SendToAsync(datagram, SocketFlags.None, group, cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref _sent);
                    }
                    catch (SocketException ex)
                    {
                        _log.Write(NodeLogLevel.Verbose, $"announcing on {socket.LocalEndPoint} failed: {ex.Message}");
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            senders.ForEach(s => s.Dispose());
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[Announcement.Length + 1];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        try
        {
            while (true)
            {
                SocketReceiveFromResult got;
                try
                {
                    got = await _receiver.ReceiveFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException ex)
                {
                    // One bad datagram (an ICMP error reported on the socket, say) never ends discovery.
                    _log.Write(NodeLogLevel.Verbose, $"discovery: {ex.Message}");
                    continue;
                }

                Interlocked.Increment(ref _received);
                var (dial, nodeId, ignored) = _filter.Judge(buffer.AsSpan(0, got.ReceivedBytes), (IPEndPoint)got.RemoteEndPoint);
                if (dial is not null)
                {
                    _dials.Writer.TryWrite((dial, nodeId));
                }
                else if (ignored is not null)
                {
                    _log.Write(NodeLogLevel.Verbose, $"discovery: ignored a datagram from {got.RemoteEndPoint}: {ignored}");
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task DialLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (endpoint, nodeId) in _dials.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _dialed);
                try
                {
                    await _link(endpoint, nodeId, cancellationToken).ConfigureAwait(false);
                    _log.Write(NodeLogLevel.Information, $"discovery: linked to the node announced at {endpoint}");
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    _filter.Failed(nodeId);
                    _log.Write(NodeLogLevel.Information, $"discovery: could not link to the node announced at {endpoint}: {ex.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
