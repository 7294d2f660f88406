using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using P2PTransfer.Control;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Search;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Control;

/// <summary>
/// The control channel with real nodes, real Unix sockets and real files: another process of the same user finds
/// the nodes and manages them; garbage, oversized requests and other users are refused and the node carries on.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ControlChannelTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();
    private string _controls = string.Empty;

    public Task InitializeAsync()
    {
        _controls = Path.Combine(_nodes.Root, "ctl");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    private Task<P2PNode> StartAsync(string name, int host = 1) =>
        _nodes.StartAsync(name, host, options => options.ControlDirectory = _controls);

    [Fact]
    public async Task Two_nodes_are_listed_from_their_sockets_which_only_their_owner_may_open()
    {
        var a = await StartAsync("ca");
        var b = await StartAsync("cb", 2);

        var listed = await RemoteNode.GetRunningAsync(_controls);

        Assert.Equal(["ca", "cb"], listed.Select(n => n.Name).Order());
        Assert.Equal(a.Endpoint, listed.Single(n => n.Name == "ca").Endpoint);
        Assert.Equal(b.Id, listed.Single(n => n.Name == "cb").Id);
        Assert.Equal(NodeStatus.Running, listed[0].Status);
        Assert.Equal(Environment.ProcessId, listed[0].ProcessId);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_controls));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(a.ControlAddress!));
    }

    [Fact]
    public async Task A_remote_node_publishes_lists_links_searches_and_stops_like_a_node_of_this_process()
    {
        var a = await StartAsync("ra");
        var b = await StartAsync("rb", 2);
        var folder = Path.Combine(_nodes.Root, "pub");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "remote-file.txt"), "shared through the control channel");
        var remoteA = await RemoteNode.ConnectAsync("ra", _controls);
        var remoteB = await RemoteNode.ConnectAsync("rb", _controls);

        await remoteB.PublishAsync([folder], waitHashed: true);
        var files = await remoteB.GetFilesAsync("*.txt").ToListAsync();
        var peer = await remoteA.ConnectPeerAsync(b.Endpoint);
        var peers = await remoteA.GetPeersAsync();
        var found = await remoteA.SearchAsync(new FileQuery { Names = ["remote-*"] }, new SearchOptions { Timeout = TimeSpan.FromSeconds(10), MaxResults = 1 }, localOnly: false).ToListAsync();

        Assert.Equal("remote-file.txt", Assert.Single(files).Name);
        Assert.Equal(b.Index.GetFiles("*").Single().Hash, files[0].Hash);
        Assert.Equal(b.Id, peer.NodeId);
        Assert.Same(remoteA, Assert.Single(peers).LocalNode);
        Assert.Equal(b.Id, Assert.Single(found).NodeId);

        await remoteB.StopAsync(TimeSpan.Zero);

        Assert.Equal(NodeStatus.Stopped, b.Status);
        Assert.False(File.Exists(Path.Combine(_controls, "rb.sock")));
        Assert.Equal(["ra"], (await RemoteNode.GetRunningAsync(_controls)).Select(n => n.Name));
        Assert.Equal(NodeStatus.Running, a.Status);
    }

    [Fact]
    public async Task A_socket_that_never_answers_is_left_out_of_the_list_instead_of_hanging_it()
    {
        await StartAsync("alive");
        // A hung node: its socket accepts connections (the kernel's backlog) and nobody ever answers.
        using var hung = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        hung.Bind(new UnixDomainSocketEndPoint(Path.Combine(_controls, "hung.sock")));
        hung.Listen(4);

        var listed = await RemoteNode.GetRunningAsync(_controls).WaitAsync(RemoteNode.DescribeTimeout * 6);

        Assert.Equal(["alive"], listed.Select(n => n.Name));
    }

    [Fact]
    public async Task A_client_that_sends_garbage_gets_an_error_and_is_closed_and_the_node_carries_on()
    {
        var node = await StartAsync("garbage");

        var reply = await RawExchangeAsync(node.ControlAddress!, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n\r\n"));

        Assert.Contains("\"badRequest\"", reply);
        Assert.Equal(NodeStatus.Running, (await RemoteNode.ConnectAsync("garbage", _controls)).Status);
    }

    [Fact]
    public async Task A_request_larger_than_the_limit_is_refused_from_its_header()
    {
        var node = await StartAsync("oversize");
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, ControlFrames.MaxRequestBytes + 1);

        // Only the header is sent: the node refuses without waiting for a body it will never read.
        var reply = await RawExchangeAsync(node.ControlAddress!, header);

        Assert.Contains("refused", reply);
        Assert.Contains("\"badRequest\"", reply);
        Assert.Equal(NodeStatus.Running, (await RemoteNode.ConnectAsync("oversize", _controls)).Status);
    }

    [Fact]
    public async Task An_unknown_request_is_a_bad_request()
    {
        var node = await StartAsync("unknown");
        var body = Encoding.UTF8.GetBytes("{\"op\":\"format-disk\"}");
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);

        var reply = await RawExchangeAsync(node.ControlAddress!, frame);

        Assert.Contains("\"badRequest\"", reply);
        Assert.Contains("unknown request", reply);
        Assert.Contains("format-disk", reply);
    }

    [Fact]
    public void Only_the_owner_and_root_may_manage_a_node()
    {
        Assert.True(PeerCredentials.MayManage(1000, 1000));
        Assert.True(PeerCredentials.MayManage(0, 1000));
        Assert.False(PeerCredentials.MayManage(1001, 1000));
    }

    [Fact]
    public async Task Another_user_who_reaches_the_socket_is_told_whose_node_it_is()
    {
        // Needs root to create the other user and run a process as it; the test fails rather than skip without it.
        Assert.True(PeerCredentials.CurrentUid == 0, "this test creates a user (useradd) and runs a client as that user: run it as root");
        // Exit code 9: the user exists already (an earlier run).
        Run([0, 9], "useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "p2pctltest");
        try
        {
            await AnotherUserIsRefusedAsync();
        }
        finally
        {
            // The machine is left as the test found it (exit code 6: the user is gone already).
            Run([0, 6], "userdel", "p2pctltest");
        }
    }

    private async Task AnotherUserIsRefusedAsync()
    {
        var node = await StartAsync("owned");
        // The file modes are the first wall; opened here on purpose, the kernel's credentials are the second.
        File.SetUnixFileMode(_controls, (UnixFileMode)0b111_111_111);
        File.SetUnixFileMode(node.ControlAddress!, (UnixFileMode)0b110_110_110);

        const string client = "use IO::Socket::UNIX; use Socket qw(SOCK_STREAM); my $s = IO::Socket::UNIX->new(Peer => $ARGV[0], Type => SOCK_STREAM) or die \"connect: $!\"; my $b = '{\"op\":\"describe\"}'; print $s pack('N', length $b) . $b; local $/; my $r = <$s>; print substr($r, 4);";
        var reply = Run([0], "setpriv", "--reuid=p2pctltest", "--regid=nogroup", "--clear-groups", "perl", "-e", client, node.ControlAddress!);

        Assert.Contains("\"denied\"", reply);
        Assert.Contains("node owned belongs to user root", reply);
        Assert.DoesNotContain(node.Endpoint, reply);
    }

    private static async Task<string> RawExchangeAsync(string path, byte[] bytes)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await socket.SendAsync(bytes);
        using var stream = new NetworkStream(socket);
        using var all = new MemoryStream();
        // The node closes the connection after its answer: reading to the end is bounded by that close.
        await stream.CopyToAsync(all).WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(all.ToArray());
    }

    private static string Run(int[] allowed, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), $"{file} did not end within 30 s");
        Assert.True(allowed.Contains(process.ExitCode), $"{file} failed ({process.ExitCode}): {error.Result}");
        return output.Result;
    }
}
