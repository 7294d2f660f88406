using System.Buffers;
using System.Net;
using System.Net.Sockets;
using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Tests.Support;

/// <summary>A bare TCP socket for writing arbitrary bytes at a node and reading back whatever frames it sends.</summary>
internal sealed class RawConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _received = [];

    private RawConnection(Socket socket) => _socket = socket;

    /// <param name="from">The local address to connect from (a 127.0.0.x address, to be another source than the tests' other connections); the system's choice by default.</param>
    public static async Task<RawConnection> OpenAsync(string endpoint, int? receiveBuffer = null, string? from = null)
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
        return new RawConnection(socket);
    }

    /// <summary>Opens a connection and completes a handshake with <paramref name="hello"/>; fails unless the node welcomes it.</summary>
    public static async Task<RawConnection> HandshakeAsync(string endpoint, Hello hello, int? receiveBuffer = null, string? from = null)
    {
        var raw = await OpenAsync(endpoint, receiveBuffer, from);
        await raw.SendAsync(hello);
        var reply = await raw.ReadFrameAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<Welcome>(reply);
        return raw;
    }

    public static Hello PeerHello(Guid id, string name = "raw") => new(ProtocolLimits.Version, ConnectionRole.Peer, id, "127.0.0.1:1", name);

    public static Hello ClientHello() => new(ProtocolLimits.Version, ConnectionRole.Client, Guid.Empty, "", "");

    /// <summary>Bytes the node sent that this side has not read.</summary>
    public int Available => _socket.Available;

    public Task SendAsync(byte[] bytes) => _socket.SendAsync(bytes, SocketFlags.None);

    public Task SendAsync(IMessage message) => SendAsync(FrameCodec.ToArray(message));

    /// <summary>True once an Error frame from the node has arrived (reads what is waiting, without blocking).</summary>
    public bool HasIncomingError()
    {
        while (_socket.Available > 0)
        {
            var buffer = new byte[_socket.Available];
            int n = _socket.Receive(buffer);
            _received.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        return Parse().Any(m => m is ErrorMessage);
    }

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
        var buffer = new byte[4096];
        bool closed = false;
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    closed = true;
                    break;
                }

                _received.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
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
        var buffer = new byte[4096];
        while (true)
        {
            var frames = Parse();
            if (frames.Count >= count)
            {
                return frames;
            }

            int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                throw new IOException("closed before a whole frame arrived");
            }

            _received.AddRange(buffer.AsSpan(0, n).ToArray());
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
        var buffer = new byte[64 * 1024];
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
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    return false;
                }

                pending.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket.Dispose();

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
