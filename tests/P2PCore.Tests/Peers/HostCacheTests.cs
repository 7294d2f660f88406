using P2PTransfer.Common;
using P2PTransfer.Peers;
using P2PTransfer.Tests.Support;
using Xunit;

namespace P2PTransfer.Tests.Peers;

public sealed class HostCacheTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("p2p-hosts-").FullName;
    private readonly ManualClock _clock = new();
    private readonly NodeLog _log = new();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private HostCache Cache(int capacity = HostCache.DefaultCapacity) => HostCache.Load(_folder, _log, capacity, _clock);

    private static readonly Func<Guid, bool> NoneLinked = _ => false;

    private static void Dial(HostCache cache, string endpoint, bool fails)
    {
        Assert.True(cache.BeginDial(endpoint));
        cache.EndDial(endpoint, fails);
    }

    [Fact]
    public void A_host_that_fails_is_due_again_after_5_s_then_10_s_then_20_s_and_at_once_after_a_link()
    {
        var cache = Cache();
        cache.AddConfigured("127.0.0.9:4000");
        foreach (var wait in new[] { 5, 10, 20 })
        {
            Assert.Single(cache.Due(NoneLinked, 0));
            Dial(cache, "127.0.0.9:4000", fails: true);
            _clock.Advance(TimeSpan.FromSeconds(wait - 1));
            Assert.Empty(cache.Due(NoneLinked, 0));
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        var id = Guid.NewGuid();
        cache.Reached("127.0.0.9:4000", id);
        Assert.Empty(cache.Due(other => other == id, 0));
        Assert.Single(cache.Due(NoneLinked, 0));
    }

    [Fact]
    public void Configured_hosts_are_always_due_while_others_fill_only_the_room_left_most_recently_linked_first()
    {
        var cache = Cache();
        cache.AddConfigured("10.0.0.1:1");
        cache.Linked("10.0.0.2:1", Guid.NewGuid());
        _clock.Advance(TimeSpan.FromSeconds(1));
        cache.Linked("10.0.0.3:1", Guid.NewGuid());
        cache.Learned("10.0.0.4:1", Guid.NewGuid());

        Assert.Equal(["10.0.0.1:1"], cache.Due(NoneLinked, 0).Select(h => h.Endpoint));
        Assert.Equal(["10.0.0.1:1", "10.0.0.3:1", "10.0.0.2:1"], cache.Due(NoneLinked, 2).Select(h => h.Endpoint));
        Assert.Equal(4, cache.Due(NoneLinked, 8).Count);
    }

    [Fact]
    public void A_host_being_dialed_is_not_due_and_cannot_be_dialed_twice_at_once()
    {
        var cache = Cache();
        cache.AddConfigured("10.0.0.1:1");
        Assert.True(cache.BeginDial("10.0.0.1:1"));
        Assert.False(cache.BeginDial("10.0.0.1:1"));
        Assert.Empty(cache.Due(NoneLinked, 8));
        cache.EndDial("10.0.0.1:1", failed: false);
        Assert.Single(cache.Due(NoneLinked, 8));
    }

    [Fact]
    public void A_node_that_comes_back_on_another_port_is_one_host_and_a_forgotten_node_is_gone()
    {
        var cache = Cache();
        var id = Guid.NewGuid();
        cache.Linked("10.0.0.2:1000", id);
        cache.Linked("10.0.0.2:2000", id);
        Assert.Equal(["10.0.0.2:2000"], cache.Snapshot().Select(h => h.Endpoint));
        cache.Learned("10.0.0.2:3000", id);
        Assert.Single(cache.Snapshot());
        cache.Forget(id);
        Assert.Empty(cache.Snapshot());
    }

    [Fact]
    public void A_node_that_dialed_in_cannot_claim_the_endpoint_of_a_peer_entry_or_of_another_node()
    {
        var cache = Cache();
        cache.AddConfigured("10.0.0.1:1");
        var genuine = Guid.NewGuid();
        cache.Linked("10.0.0.2:1", genuine);

        cache.Linked("10.0.0.1:1", Guid.NewGuid(), dialed: false);
        cache.Linked("10.0.0.2:1", Guid.NewGuid(), dialed: false);

        Assert.Equal(Guid.Empty, cache.Snapshot().Single(h => h.Endpoint == "10.0.0.1:1").NodeId);
        Assert.Equal(genuine, cache.Snapshot().Single(h => h.Endpoint == "10.0.0.2:1").NodeId);
        cache.Linked("10.0.0.3:1", Guid.NewGuid(), dialed: false);
        Assert.Equal(3, cache.Count);
    }

    [Fact]
    public void Only_addresses_are_learned_from_peers_never_host_names()
    {
        var cache = Cache();
        cache.Learned("victim.example.org:80", Guid.NewGuid());
        cache.Learned("[2001:db8::7]:1", Guid.NewGuid());
        cache.Learned("10.0.0.7:1", Guid.NewGuid());
        Assert.Equal(["10.0.0.7:1", "[2001:db8::7]:1"], cache.Snapshot().Select(h => h.Endpoint).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_cache_is_kept_across_restarts_and_a_damaged_file_starts_an_empty_one_with_a_warning()
    {
        var id = Guid.NewGuid();
        var cache = Cache();
        cache.AddConfigured("hub.example.org:47100");
        cache.Linked("10.0.0.2:1000", id);
        cache.Save();

        var again = Cache();
        Assert.Equal(cache.Snapshot().OrderBy(h => h.Endpoint), again.Snapshot().OrderBy(h => h.Endpoint));

        File.WriteAllText(Path.Combine(_folder, HostCache.FileName), "{ not json");
        Assert.Empty(Cache().Snapshot());
        Assert.Contains(_log.Recent(), entry => entry.Message.Contains("could not be read"));
    }

    [Fact]
    public void Over_capacity_hosts_learned_from_peers_go_first_and_configured_ones_stay()
    {
        var cache = Cache(capacity: 3);
        cache.AddConfigured("10.0.0.1:1");
        cache.Linked("10.0.0.2:1", Guid.NewGuid());
        for (int i = 0; i < 10; i++)
        {
            cache.Learned($"10.0.1.{i}:1", Guid.NewGuid());
        }

        var endpoints = cache.Snapshot().Select(h => h.Endpoint).ToList();
        Assert.Equal(3, endpoints.Count);
        Assert.Contains("10.0.0.1:1", endpoints);
        Assert.Contains("10.0.0.2:1", endpoints);
    }
}
