using System.Collections.Concurrent;
using System.IO.Pipes;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using P2PTransfer.Common;

namespace P2PTransfer.Control;

/// <summary>
/// A node's control channel: a Unix domain socket (0600, in the user's 0700 control folder) or, on Windows, a named
/// pipe that only the current user may open. Local only: it is never bound to a network address. Each connection
/// carries one request and its reply (docs/control.md); the peer's uid is checked first (SO_PEERCRED), and a user
/// other than the node's owner or root is told whose node it is and closed. A bad request is answered with an
/// error and closed; nothing a client sends can stop the node.
/// </summary>
internal sealed class ControlServer
{
    /// <summary>A client must send its whole request within this time of connecting.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Connections served at once; more wait in the listen backlog.</summary>
    public const int MaxConnections = 32;

    private readonly string _nodeName;
    private readonly string _directory;
    private readonly ControlHandler _handler;
    private readonly NodeLog _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections);
    private Socket? _socket;
    private Task? _acceptLoop;

    public ControlServer(string nodeName, string directory, ControlHandler handler, NodeLog log, uint? ownerUid = null)
    {
        _nodeName = nodeName;
        _directory = directory;
        _handler = handler;
        _log = log;
        OwnerUid = ownerUid ?? PeerCredentials.CurrentUid;
    }

    /// <summary>Where clients reach this node: the socket's path, or the pipe's name on Windows; null until started.</summary>
    public string? Address { get; private set; }

    /// <summary>The user who may manage the node (besides root): the one it runs as.</summary>
    public uint? OwnerUid { get; }

    /// <summary>
    /// Binds the channel and starts accepting. A node runs without a channel rather than not at all: when the folder
    /// cannot be used, or another live node of the same name holds the socket, this logs why and returns false.
    /// </summary>
    public bool Start()
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Address = ControlDirectory.PipeName(_nodeName);
                _acceptLoop = Task.Run(PipeLoopAsync);
                return true;
            }

            ControlDirectory.Prepare(_directory);
            var path = ControlDirectory.SocketPath(_directory, _nodeName);
            if (System.Text.Encoding.UTF8.GetByteCount(path) > ControlDirectory.MaxSocketPathBytes)
            {
                _log.Write(NodeLogLevel.Warning, $"no control channel: the socket path '{path}' is longer than {ControlDirectory.MaxSocketPathBytes} bytes");
                return false;
            }

            if (File.Exists(path) && Answers(path))
            {
                _log.Write(NodeLogLevel.Warning, $"no control channel: another running node named {_nodeName} has '{path}'");
                return false;
            }

            // A socket left by a node that did not stop (a crash) answers nobody: it is replaced.
            File.Delete(path);
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Bind(new UnixDomainSocketEndPoint(path));
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                socket.Listen(MaxConnections);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            _socket = socket;
            Address = path;
            _acceptLoop = Task.Run(SocketLoopAsync);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SocketException)
        {
            _log.Write(NodeLogLevel.Warning, $"no control channel in '{_directory}': {ex.Message}");
            return false;
        }
    }

    /// <summary>
    /// Stops accepting, removes the socket, lets the requests under way end (a Stop request answers now) and waits
    /// for them up to <paramref name="wait"/>.
    /// </summary>
    public async Task StopAsync(TimeSpan wait)
    {
        _stopRequested.TrySetResult();
        _stopping.Cancel();
        _socket?.Dispose();
        if (_socket is not null && Address is { } path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log.Write(NodeLogLevel.Warning, $"could not remove the control socket '{path}': {ex.Message}");
            }
        }

        var all = Task.WhenAll(_connections.Keys.Append(_acceptLoop ?? Task.CompletedTask));
        try
        {
            await all.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Write(NodeLogLevel.Warning, $"{_connections.Count} control connection(s) did not end within {wait.TotalSeconds} s of stopping");
        }
        catch (Exception)
        {
            // Each connection logs its own failure.
        }
    }

    private static bool Answers(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task SocketLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                await _slots.WaitAsync(token).ConfigureAwait(false);
                client = await _socket!.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                _slots.Release();
                _log.Write(NodeLogLevel.Warning, $"control channel: accept failed: {ex.Message}");
                continue;
            }

            Track(ServeSocketAsync(client));
        }
    }

    private async Task ServeSocketAsync(Socket client)
    {
        await using var stream = new NetworkStream(client, ownsSocket: true);
        uint? peer = null;
        try
        {
            peer = PeerCredentials.PeerUid(client);
        }
        catch (SocketException ex)
        {
            _log.Write(NodeLogLevel.Warning, $"control channel: cannot read the peer's credentials: {ex.Message}");
        }

        if (peer is { } uid && OwnerUid is { } owner && !PeerCredentials.MayManage(uid, owner))
        {
            _log.Write(NodeLogLevel.Warning, $"control channel: refused user {PeerCredentials.UserName(uid)}");
            await TryWriteAsync(stream, ControlErrors.ToJson(new UnauthorizedAccessException(
                $"node {_nodeName} belongs to user {PeerCredentials.UserName(owner)}; user {PeerCredentials.UserName(uid)} may not manage it"))).ConfigureAwait(false);
            return;
        }

        await ServeAsync(stream).ConfigureAwait(false);
    }

    private async Task PipeLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            NamedPipeServerStream pipe;
            try
            {
                await _slots.WaitAsync(token).ConfigureAwait(false);
                // CurrentUserOnly: the pipe's ACL lets only this user open it.
                pipe = new NamedPipeServerStream(Address!, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances,
                    PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (IOException ex)
            {
                _slots.Release();
                _log.Write(NodeLogLevel.Warning, $"no control channel on pipe {Address}: {ex.Message}");
                return;
            }

            try
            {
                await pipe.WaitForConnectionAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
                _slots.Release();
                await pipe.DisposeAsync().ConfigureAwait(false);
                if (token.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            Track(ServePipeAsync(pipe));
        }
    }

    private async Task ServePipeAsync(NamedPipeServerStream pipe)
    {
        await using (pipe.ConfigureAwait(false))
        {
            await ServeAsync(pipe).ConfigureAwait(false);
        }
    }

    private void Track(Task connection)
    {
        _connections[connection] = 0;
        _ = connection.ContinueWith(
            finished =>
            {
                _connections.TryRemove(finished, out _);
                _slots.Release();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>One request, its items, and its result or error; then the connection closes. Never throws.</summary>
    private async Task ServeAsync(Stream stream)
    {
        var token = _stopping.Token;
        try
        {
            JsonObject? body;
            using (var reading = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                reading.CancelAfter(RequestTimeout);
                try
                {
                    body = await ControlFrames.ReadAsync(stream, ControlFrames.MaxRequestBytes, reading.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    throw new ControlProtocolException($"no whole request within {RequestTimeout.TotalSeconds} s");
                }
            }

            if (body is null)
            {
                return;
            }

            var writeGate = new SemaphoreSlim(1, 1);
            async Task WriteItem(JsonNode item)
            {
                await writeGate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    await ControlFrames.WriteAsync(stream, new JsonObject { ["item"] = item }, token).ConfigureAwait(false);
                }
                finally
                {
                    writeGate.Release();
                }
            }

            var request = new ControlRequest(body, WriteItem, _stopRequested.Task);
            var result = await _handler(request, token).ConfigureAwait(false);
            // The result goes out even while the server stops: it is the answer to a Stop request.
            await ControlFrames.WriteAsync(stream, new JsonObject { ["done"] = result ?? new JsonObject() }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ControlProtocolException ex)
        {
            _log.Write(NodeLogLevel.Warning, $"control channel: closed a client: {ex.Message}");
            await TryWriteAsync(stream, ControlErrors.ToJson(ex)).ConfigureAwait(false);
            DiscardPending(stream);
        }
        catch (IOException)
        {
            // The client went away: nothing to answer.
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
        {
            await TryWriteAsync(stream, ControlErrors.ToJson(ex)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await TryWriteAsync(stream, ControlErrors.ToJson(new P2PTransfer.Protocol.NodeUnavailableException(
                P2PTransfer.Protocol.ProtocolError.Shutdown, $"node {_nodeName} has stopped"))).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Drops what the client sent that was not read (bounded), so that closing does not reset the connection before
    /// the client has read the error (a Unix socket closed with unread input resets its peer).
    /// </summary>
    private static void DiscardPending(Stream stream)
    {
        if (stream is not NetworkStream network)
        {
            return;
        }

        var buffer = new byte[4096];
        try
        {
            for (int dropped = 0; dropped < ControlFrames.MaxMessageBytes && network.DataAvailable;)
            {
                int read = network.Read(buffer, 0, buffer.Length);
                if (read == 0)
                {
                    break;
                }

                dropped += read;
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
    }

    private static async Task TryWriteAsync(Stream stream, JsonObject message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await ControlFrames.WriteAsync(stream, message, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or ControlProtocolException)
        {
        }
    }
}
