using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace P2PTransfer.Bench;

/// <summary>
/// One connection written frame by frame (or byte by byte) to a node, from a chosen loopback source address, so that
/// an attacker and a bystander count as different hosts. Reads what the node sends on a loop of its own, answers its
/// Pings (so the link stays up) and hands every frame to an optional observer.
/// </summary>
internal sealed class RawLink : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private long _framesRead;

    private RawLink(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
    }

    /// <summary>Completes when the node has closed the connection (or it broke).</summary>
    public Task Closed => _reader;

    public bool IsClosed => _reader.IsCompleted;

    public long FramesRead => Interlocked.Read(ref _framesRead);

    /// <summary>The first frame the node sent after the handshake (its answer, if any).</summary>
    public Action<Wire.RawFrame>? OnFrame { get; set; }

    /// <summary>
    /// Opens a connection from <paramref name="source"/> (a loopback address) to <paramref name="endpoint"/>: TCP, and
    /// TLS 1.3 over it when the node speaks it (<see cref="Transport.Tls"/>; <paramref name="plain"/> keeps it TCP
    /// only), presenting <paramref name="identity"/>'s certificate (a pure client's when none is given).
    /// </summary>
    public static async Task<RawLink> OpenAsync(IPEndPoint endpoint, IPAddress? source, TimeSpan timeout, CancellationToken token = default, Identity? identity = null, bool plain = false)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
            cts.CancelAfter(timeout);
            await socket.ConnectAsync(endpoint, cts.Token);
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (Transport.Tls && !plain)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                await tls.AuthenticateAsClientAsync(Transport.ClientOptions(identity ?? Identity.Client), cts.Token);
                stream = tls;
            }

            return new RawLink(socket, stream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a connection and completes the handshake in <paramref name="role"/> (1 client, 2 peer) as
    /// <paramref name="identity"/> (a peer needs one; a pure client may go without); returns the link and the server's
    /// id, or throws when it is not welcomed.
    /// </summary>
    public static async Task<(RawLink Link, Guid ServerId)> HandshakeAsync(IPEndPoint endpoint, IPAddress? source, byte role, Identity? identity, string ownEndpoint, string name, TimeSpan timeout, CancellationToken token = default)
    {
        var link = await OpenAsync(endpoint, source, timeout, token, identity);
        try
        {
            await link.SendAsync(Transport.Hello(role, identity, ownEndpoint, name), token);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
            cts.CancelAfter(timeout);
            var first = await link.ReadFrameAsync(cts.Token) ?? throw new IOException("closed during the handshake");
            if (first.Code != Wire.Welcome)
            {
                throw new IOException(first.Code == Wire.Error ? $"refused with Error({first.ErrorCode})" : $"answered with code 0x{first.Code:x2}");
            }

            var (availability, serverId) = first.WelcomeFields;
            if (availability != 0)
            {
                throw new IOException(availability == 2 ? "Welcome(Busy)" : "Welcome(Closing)");
            }

            return (link, serverId);
        }
        catch
        {
            await link.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts reading on a loop of its own: Pings are answered, frames go to <see cref="OnFrame"/>.</summary>
    public void StartReading(bool answerPings = true) => _reader = Task.Run(() => ReadLoopAsync(answerPings));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken token = default)
    {
        await _write.WaitAsync(token);
        try
        {
            await _stream.WriteAsync(bytes, token);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>Reads one frame (header and payload); null at the end of the stream.</summary>
    public async Task<Wire.RawFrame?> ReadFrameAsync(CancellationToken token)
    {
        var header = new byte[Wire.HeaderSize];
        if (!await FillAsync(header, token))
        {
            return null;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(2));
        if (length > 2 * 1024 * 1024)
        {
            throw new IOException($"frame of {length} bytes from the node");
        }

        var payload = new byte[length];
        if (!await FillAsync(payload, token))
        {
            return null;
        }

        Interlocked.Increment(ref _framesRead);
        return new Wire.RawFrame(header[0], header[1], payload);
    }

    /// <summary>Closes at once with a reset, as a killed process would.</summary>
    public void Abort()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        Abort();
        try
        {
            await _reader;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        await _stream.DisposeAsync();
        _socket.Dispose();
        _stop.Dispose();
    }

    private async Task<bool> FillAsync(byte[] buffer, CancellationToken token)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int n = await _stream.ReadAsync(buffer.AsMemory(done), token);
            if (n == 0)
            {
                return false;
            }

            done += n;
        }

        return true;
    }

    private async Task ReadLoopAsync(bool answerPings)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var frame = await ReadFrameAsync(_stop.Token);
                if (frame is not { } f)
                {
                    return;
                }

                if (answerPings && f.Code == Wire.Ping)
                {
                    await SendAsync(Wire.PongFrame(f.Nonce), _stop.Token);
                }

                OnFrame?.Invoke(f);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }
}
