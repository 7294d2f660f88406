using P2PTransfer.Node;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Node;

public class NodeSettingsTests
{
    [Fact]
    public async Task A_start_writes_the_settings_it_runs_with_and_asks_for_no_shares_once_its_index_holds_them()
    {
        await using var nodes = new TestNodes();
        var share = Directory.CreateDirectory(Path.Combine(nodes.Root, "pub")).FullName;
        var node = await nodes.StartAsync("writer", configure: options =>
        {
            options.Index = new P2PTransfer.Index.IndexOptions { Shares = [share], Exclude = ["*.tmp"] };
            options.Peers = ["127.0.0.9:47100"];
            options.TargetPeers = 3;
            options.MaxUploads = 5;
            options.Discovery.Enabled = false;
        });

        var settings = NodeSettings.Load(node.StateDirectory)!;

        Assert.Equal("writer", settings.Name);
        Assert.Null(settings.Shares);
        Assert.Equal(["*.tmp"], settings.Exclude);
        Assert.Equal(("127.0.0.1", 0), (settings.ListenAddress, settings.Port));
        Assert.Equal(["127.0.0.9:47100"], settings.Peers);
        Assert.Equal((3, 5, 5.0, false), (settings.TargetPeers, settings.MaxUploads, settings.DrainTimeoutSec, settings.Discovery));
        Assert.Equal([share], node.Shares);
    }

    [Fact]
    public async Task Shares_asked_for_in_node_json_are_shared_by_the_next_start_from_the_settings_and_then_kept_by_the_index()
    {
        await using var nodes = new TestNodes();
        var share = Directory.CreateDirectory(Path.Combine(nodes.Root, "pub")).FullName;
        var state = Path.Combine(nodes.Root, "service");
        new NodeSettings { Name = "service", Shares = [share], ListenAddress = "127.0.0.1", Port = 0, Discovery = false }.Save(state);

        var first = await P2PNode.StartAsync(NodeSettings.Load(state)!.ToOptions(state));
        Assert.Equal([share], first.Shares);
        await first.StopAsync();

        var again = NodeSettings.Load(state)!;
        Assert.Null(again.Shares);
        var second = await P2PNode.StartAsync(again.ToOptions(state));
        Assert.Equal([share], second.Shares);
        await second.StopAsync();
    }

    [Fact]
    public void A_private_node_keeps_its_key_file_and_trusted_ids_in_node_json_and_never_the_key_itself()
    {
        var folder = Directory.CreateTempSubdirectory("p2p-settings-").FullName;
        try
        {
            var keyFile = Path.Combine(folder, "team.p2pkey");
            P2PTransfer.Identity.NetworkKey.WriteFile(keyFile, P2PTransfer.Identity.NetworkKey.New());
            var key = P2PTransfer.Identity.NetworkKey.ReadFile(keyFile);
            var trusted = Guid.NewGuid();
            NodeSettings.From(new NodeOptions { NetworkKey = key, NetworkKeyFile = keyFile, TrustedNodes = [trusted] }).Save(folder);

            var text = File.ReadAllText(Path.Combine(folder, NodeSettings.FileName));
            Assert.DoesNotContain(Convert.ToBase64String(key).TrimEnd('='), text);
            var options = NodeSettings.Load(folder)!.ToOptions(folder);
            Assert.Equal(key, options.NetworkKey);
            Assert.Equal([trusted], options.TrustedNodes);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_node_started_private_with_a_key_given_as_a_secure_string_is_refused_by_the_host_rather_than_started_open()
    {
        var settings = NodeSettings.From(new NodeOptions { NetworkKey = new byte[32] });
        Assert.True(settings.Private);
        Assert.Null(settings.NetworkKeyFile);
        var error = Assert.Throws<InvalidDataException>(() => settings.ToOptions("/state"));
        Assert.Contains("private network", error.Message);
    }

    [Fact]
    public void A_damaged_node_json_is_an_error_that_names_the_file()
    {
        var state = Directory.CreateTempSubdirectory("p2pt-settings").FullName;
        try
        {
            File.WriteAllText(Path.Combine(state, NodeSettings.FileName), "{ \"port\": ");

            var error = Assert.Throws<InvalidDataException>(() => NodeSettings.Load(state));

            Assert.Contains(Path.Combine(state, NodeSettings.FileName), error.Message);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public void Members_missing_from_node_json_or_written_null_take_their_defaults()
    {
        var state = Directory.CreateTempSubdirectory("p2pt-settings").FullName;
        try
        {
            File.WriteAllText(Path.Combine(state, NodeSettings.FileName), "{ \"exclude\": null, \"peers\": null, \"listenAddress\": null }");

            var options = NodeSettings.Load(state)!.ToOptions(state);

            Assert.Equal((NodeOptions.DefaultPort, "0.0.0.0", 8), (options.Port, options.ListenAddress, options.TargetPeers));
            Assert.Empty(options.Index.Exclude);
            Assert.Empty(options.Peers);
            Assert.Null(options.Index.Shares);
            Assert.True(options.Discovery.Enabled);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public void A_systemd_unit_quotes_each_argument_and_escapes_what_systemd_would_expand()
    {
        var state = Path.Combine(Path.GetTempPath(), "a \"b\" 100% $HOME");
        // The unit is text: written the same on any machine.
        var service = NodeService.Describe("svc", state, ServiceScope.CurrentUser, Path.Combine(Path.GetTempPath(), "host"), TimeSpan.FromSeconds(10)) with { Platform = ServicePlatform.Systemd };

        var execStart = NodeService.UnitText(service).Split('\n').Single(line => line.StartsWith("ExecStart=", StringComparison.Ordinal));

        var escaped = state.Replace("\"", "\\\"").Replace("%", "%%").Replace("$", "$$");
        Assert.EndsWith($"\"--state-directory\" \"{escaped}\"", execStart);
        Assert.Contains("TimeoutStopSec=40\n", NodeService.UnitText(service));
    }
}
