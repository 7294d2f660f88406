using System.Buffers;
using System.Net;
using System.Net.Sockets;
using P2PTransfer.Identity;
using P2PTransfer.Net;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Tests.Support;

/// <summary>
/// A TLS connection (as every connection is) on a bare TCP socket, for writing arbitrary bytes at a node and
/// reading back whatever frames it sends. TLS is done the way nodes do it (<see cref="TlsConnection"/>); what goes
/// inside is up to the test.
/// </summary>
internal sealed class RawConnection : IDisposable
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, NodeCredentials> Keys = new();
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly List<byte> _received = [];
    private readonly byte[] _buffer = new byte[64 * 1024];
    private Task<int>? _pendingRead;

    private RawConnection(Socket socket, Stream stream, Guid remoteId)
    {
        _socket = socket;
        _stream = stream;
        RemoteId = remoteId;
    }

    /// <summary>The node's id as TLS proved it.</summary>
    public Guid RemoteId { get; }

    /// <summary>
    /// Opens a TCP connection and does the TLS handshake with <paramref name="credentials"/> (by default the
    /// process's client key); a <paramref name="receiveBuffer"/> makes the socket's buffer small.
    /// </summary>
    /// <param name="from">The local address to connect from (a 127.0.0.x address, to be another source than the tests' other connections); the system's choice by default.</param>
    public static async Task<RawConnection> OpenAsync(string endpoint, int? receiveBuffer = null, NodeCredentials? credentials = null, string? from = null)
    {
        var socket = await OpenSocketAsync(endpoint, receiveBuffer, from);
        var tls = await TlsConnection.ConnectAsync(new TcpConnection(socket), credentials ?? NodeCredentials.Client, endpoint, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));
        return new RawConnection(socket, tls.Stream, tls.RemoteId);
    }

    /// <summary>A TCP connection without TLS, as a dialer of protocol 1 opens it, or a socket that says nothing.</summary>
    public static async Task<RawConnection> OpenPlaintextAsync(string endpoint, string? from = null)
    {
        var socket = await OpenSocketAsync(endpoint, null, from);
        return new RawConnection(socket, new NetworkStream(socket, ownsSocket: false), Guid.Empty);
    }

    /// <summary>Opens a connection and completes a handshake with <paramref name="hello"/>; fails unless the node welcomes it.</summary>
    public static async Task<RawConnection> HandshakeAsync(string endpoint, Hello hello, int? receiveBuffer = null, string? from = null)
    {
        var raw = await OpenAsync(endpoint, receiveBuffer, CredentialsFor(hello.NodeId), from);
        await raw.SendAsync(hello);
        var reply = await raw.ReadFrameAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<Welcome>(reply);
        return raw;
    }

    /// <summary>
    /// A node id with a key behind it: a Hello that names it passes the node's identity check when a raw
    /// connection opened by <see cref="HandshakeAsync"/> (or with <see cref="CredentialsFor"/>) sends it.
    /// </summary>
    public static Guid NewId()
    {
        var credentials = new NodeCredentials(NodeKey.CreateEphemeral());
        Keys[credentials.Id] = credentials;
        return credentials.Id;
    }

    /// <summary>A key of a node of the test's making, whose id a raw connection can then prove (and whose signatures the test makes).</summary>
    public static NodeKey NewKey()
    {
        var key = NodeKey.CreateEphemeral();
        Keys[key.Id] = new NodeCredentials(key);
        return key;
    }

    /// <summary>The credentials of a running node (its key, read from its state directory): to speak as the node itself.</summary>
    public static NodeCredentials CredentialsOf(P2PNode node) =>
        Keys.GetOrAdd(node.Id, _ => new NodeCredentials(NodeKey.LoadOrCreate(node.StateDirectory)));

    /// <summary>The credentials that prove <paramref name="id"/>: one made by <see cref="NewId"/> or <see cref="CredentialsOf"/>, else the process's client key.</summary>
    public static NodeCredentials CredentialsFor(Guid id) => Keys.TryGetValue(id, out var credentials) ? credentials : NodeCredentials.Client;

    public static Hello PeerHello(Guid id, string name = "raw") => Hello.Create(ConnectionRole.Peer, id, "127.0.0.1:1", name);

    /// <summary>The Welcome a server that is available answers <paramref name="hello"/> with.</summary>
    public static Welcome WelcomeFor(Hello hello, Guid id, string endpoint, string name) =>
        Welcome.Create(NodeAvailability.Available, id, endpoint, name) with { Version = Handshake.ChosenVersion(hello) };

    /// <summary>A pure client's Hello: the process's client key's id, no endpoint, no name.</summary>
    public static Hello ClientHello() => Hello.Create(ConnectionRole.Client, NodeCredentials.Client.Id, "", "");

    /// <summary>Bytes received and read so far (inside TLS, what TLS gave).</summary>
    public int BytesReceived => _received.Count;

    /// <summary>Bytes the node sent that this side has not read (as TLS records, not yet decrypted).</summary>
    public int Available => _socket.Available;

    /// <summary>Sends the bytes as they are (inside TLS: one record per call).</summary>
    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public Task SendAsync(IMessage message) => SendAsync(FrameCodec.ToArray(message));

    /// <summary>True once an Error frame from the node has arrived (takes what has arrived, without waiting).</summary>
    public bool HasIncomingError()
    {
        try
        {
            while (StartRead().IsCompleted && TakeRead() > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }

        return Parse().Any(m => m is ErrorMessage);
    }

    /// <summary>Ends this side's sending (TCP FIN, without TLS's closing record): the node sees the stream end where it ends.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes with a reset, as a killed process or a pulled cable would, without any goodbye.</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    /// <summary>Reads until the node closes the connection (or the time runs out) and returns the frames it sent.</summary>
    public async Task<(List<IMessage> Messages, bool Closed)> ReadUntilClosedAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        bool closed = false;
        try
        {
            while (true)
            {
                if (await ReadMoreAsync(timeout.Token) == 0)
                {
                    closed = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            closed = true;
        }

        return (Parse(), closed);
    }

    /// <summary>Reads until one whole frame has arrived.</summary>
    public async Task<IMessage> ReadFrameAsync(TimeSpan within) => (await ReadFramesAsync(1, within))[0];

    /// <summary>Reads until <paramref name="count"/> whole frames have arrived (counting from the first ever read).</summary>
    public async Task<List<IMessage>> ReadFramesAsync(int count, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        while (true)
        {
            var frames = Parse();
            if (frames.Count >= count)
            {
                return frames;
            }

            if (await ReadMoreAsync(timeout.Token) == 0)
            {
                throw new IOException("closed before a whole frame arrived");
            }
        }
    }

    /// <summary>
    /// Reads frames as they come, decoding each once and keeping only an unfinished one, and hands each to
    /// <paramref name="take"/> until it returns false, the node closes the connection, or the time runs out.
    /// For connections that carry megabytes. Starts with what earlier reads left, whole frames included.
    /// </summary>
    public async Task<bool> ReadEachAsync(Func<IMessage, bool> take, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var pending = new List<byte>(_received);
        _received.Clear();
        try
        {
            while (true)
            {
                var sequence = new ReadOnlySequence<byte>(pending.ToArray());
                while (FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame))
                {
                    if (!take(MessageDecoder.Decode(frame)))
                    {
                        return true;
                    }
                }

                pending = [.. sequence.ToArray()];
                if (await ReadMoreAsync(timeout.Token) == 0)
                {
                    return false;
                }

                pending.AddRange(_received);
                _received.Clear();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _stream.Dispose();
    }

    private static async Task<Socket> OpenSocketAsync(string endpoint, int? receiveBuffer, string? from)
    {
        var address = await NetworkAddress.ResolveAsync(endpoint, 0, CancellationToken.None);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null)
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        }

        if (receiveBuffer is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(address);
        return socket;
    }

    /// <summary>
    /// Reads more of what the node sent into what was received: 0 at the end of the stream. A read the time ran out
    /// on stays under way and is taken by the next call, so no byte is lost.
    /// </summary>
    private async Task<int> ReadMoreAsync(CancellationToken cancellationToken)
    {
        await StartRead().WaitAsync(cancellationToken);
        return TakeRead();
    }

    private Task<int> StartRead() => _pendingRead ??= _stream.ReadAsync(_buffer).AsTask();

    private int TakeRead()
    {
        var read = _pendingRead!;
        _pendingRead = null;
        int n = read.GetAwaiter().GetResult();
        _received.AddRange(_buffer.AsSpan(0, n).ToArray());
        return n;
    }

    private List<IMessage> Parse()
    {
        var messages = new List<IMessage>();
        var sequence = new ReadOnlySequence<byte>(_received.ToArray());
        while (FrameCodec.TryReadFrame(ref sequence, ProtocolLimits.MaxPayload, out var frame))
        {
            messages.Add(MessageDecoder.Decode(frame));
        }

        return messages;
    }
}
