using System.IO.Pipes;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using P2PTransfer.Protocol;

namespace P2PTransfer.Control;

/// <summary>
/// The client end of a node's control channel: one connection per request. Items of the reply come as the node
/// sends them; the reply's result ends the sequence (<see cref="ControlReply.IsResult"/>); an error reply is thrown
/// as the exception the node would have thrown in-process (<see cref="ControlErrors"/>).
/// </summary>
internal static class ControlClient
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    public static async IAsyncEnumerable<ControlReply> CallAsync(string address, string nodeName, JsonObject request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await ConnectAsync(address, nodeName, cancellationToken).ConfigureAwait(false);
        await ControlFrames.WriteAsync(stream, request, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            JsonObject? message;
            try
            {
                message = await ControlFrames.ReadAsync(stream, ControlFrames.MaxMessageBytes, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new P2PException(ProtocolError.ConnectionLost, $"node {nodeName} closed its control connection: {ex.Message}");
            }
            catch (ControlProtocolException ex)
            {
                throw new P2PException(ProtocolError.MalformedFrame, $"node {nodeName} sent a bad control reply: {ex.Message}");
            }

            switch (message)
            {
                case null:
                    throw new P2PException(ProtocolError.ConnectionLost, $"node {nodeName} closed its control connection before answering");
                case { } m when m["error"] is JsonObject error:
                    throw ControlErrors.FromJson(error);
                case { } m when m.ContainsKey("done"):
                    yield return new ControlReply(true, m["done"]);
                    yield break;
                case { } m when m.ContainsKey("item"):
                    yield return new ControlReply(false, m["item"]);
                    break;
                default:
                    throw new P2PException(ProtocolError.MalformedFrame, $"node {nodeName} sent a control reply with no item, result or error");
            }
        }
    }

    /// <summary>Sends a request and returns its result, ignoring items.</summary>
    public static async Task<JsonNode?> RequestAsync(string address, string nodeName, JsonObject request, CancellationToken cancellationToken = default)
    {
        await foreach (var reply in CallAsync(address, nodeName, request, cancellationToken).ConfigureAwait(false))
        {
            if (reply.IsResult)
            {
                return reply.Value;
            }
        }

        return null;
    }

    private static async Task<Stream> ConnectAsync(string address, string nodeName, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            if (OperatingSystem.IsWindows())
            {
                var pipe = new NamedPipeClientStream(".", address, PipeDirection.InOut, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
                try
                {
                    await pipe.ConnectAsync(timeout.Token).ConfigureAwait(false);
                    return pipe;
                }
                catch
                {
                    await pipe.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            }

            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(address), timeout.Token).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new UnauthorizedAccessException($"node {nodeName}'s control channel at '{address}' is not open to this user", ex);
        }
        catch (Exception ex) when (ex is SocketException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new NodeUnavailableException(ProtocolError.Shutdown, $"node {nodeName} is not running (its control channel at '{address}' does not answer: {ex.Message})");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"node {nodeName}'s control channel at '{address}' is not open to this user: {ex.Message}", ex);
        }
    }
}

/// <summary>One message of a reply: an item, or the result that ends it.</summary>
internal readonly record struct ControlReply(bool IsResult, JsonNode? Value);
