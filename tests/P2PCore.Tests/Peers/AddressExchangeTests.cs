using P2PTransfer.Common;
using P2PTransfer.Peers;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;
using P2PTransfer.Tests.Support;
using Xunit;

namespace P2PTransfer.Tests.Peers;

public sealed class AddressExchangeTests
{
    private static readonly Guid Self = Guid.NewGuid();
    private readonly ManualClock _clock = new();
    private readonly HostCache _hosts;
    private readonly AddressExchange _exchange;

    public AddressExchangeTests()
    {
        _hosts = new HostCache(null, new NodeLog(), clock: _clock);
        _exchange = new AddressExchange(Self, _hosts, _clock);
    }

    [Fact]
    public void A_peer_is_told_the_other_linked_nodes_at_once_and_again_only_when_they_changed_and_a_minute_passed()
    {
        var peer = Guid.NewGuid();
        _hosts.Linked("10.0.0.2:1", peer);
        _hosts.Linked("10.0.0.3:1", Guid.NewGuid());

        var first = _exchange.Due(peer);
        Assert.Equal(["10.0.0.3:1"], first!.Peers.Select(p => p.Endpoint));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(_exchange.Due(peer));

        _hosts.Linked("10.0.0.4:1", Guid.NewGuid());
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(_exchange.Due(peer));
        _hosts.Linked("10.0.0.5:1", Guid.NewGuid());
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(_exchange.Due(peer));
        _clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(3, _exchange.Due(peer)!.Peers.Count);
    }

    [Fact]
    public void At_most_50_nodes_are_told_in_one_message()
    {
        for (int i = 0; i < 80; i++)
        {
            _hosts.Linked($"10.0.1.{i}:1", Guid.NewGuid());
        }

        Assert.Equal(PeerExchange.MaxPeers, _exchange.Due(Guid.NewGuid())!.Peers.Count);
    }

    [Fact]
    public void A_second_message_from_one_link_within_a_minute_is_dropped_and_its_nodes_not_learned()
    {
        var peer = Guid.NewGuid();
        Assert.True(_exchange.Receive(peer, new PeerExchange([new RouteHop(Guid.NewGuid(), "10.0.0.7:1")])));
        Assert.False(_exchange.Receive(peer, new PeerExchange([new RouteHop(Guid.NewGuid(), "10.0.0.8:1")])));
        Assert.Equal(["10.0.0.7:1"], _hosts.Snapshot().Select(h => h.Endpoint));
        Assert.Equal(1, _exchange.Dropped);

        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(_exchange.Receive(peer, new PeerExchange([new RouteHop(Guid.NewGuid(), "10.0.0.8:1")])));
        Assert.Equal(2, _hosts.Count);
    }

    [Fact]
    public void The_node_itself_and_the_sender_are_not_learned()
    {
        var peer = Guid.NewGuid();
        _exchange.Receive(peer, new PeerExchange([new RouteHop(Self, "10.0.0.1:1"), new RouteHop(peer, "10.0.0.2:1")]));
        Assert.Empty(_hosts.Snapshot());
    }

    [Fact]
    public void A_peer_exchange_reads_back_as_written_and_more_than_50_entries_is_a_malformed_frame()
    {
        var message = new PeerExchange([new RouteHop(Guid.NewGuid(), "10.0.0.7:47100"), new RouteHop(Guid.NewGuid(), "[2001:db8::7]:1")]);
        var decoded = Assert.IsType<PeerExchange>(RoundTrip(message));
        Assert.Equal(message.Peers, decoded.Peers);

        var tooMany = new PeerExchange([.. Enumerable.Range(0, 51).Select(i => new RouteHop(Guid.NewGuid(), $"10.0.0.{i}:1"))]);
        var error = Assert.Throws<ProtocolException>(() => RoundTrip(tooMany));
        Assert.Equal(ProtocolError.MalformedFrame, error.Code);
    }

    private static IMessage RoundTrip(IMessage message)
    {
        var sequence = new System.Buffers.ReadOnlySequence<byte>(FrameCodec.ToArray(message));
        Assert.True(FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame));
        return MessageDecoder.Decode(frame);
    }
}
