using System.Text.Json.Nodes;
using P2PTransfer.Protocol;

namespace P2PTransfer.Control;

/// <summary>
/// One mapping between exceptions and the control channel's error replies, both ways, so that a failure on a node
/// reached through its channel reaches the caller as the same kind of exception it would have thrown in-process.
/// </summary>
internal static class ControlErrors
{
    public static JsonObject ToJson(Exception exception)
    {
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerException! : exception;
        var (kind, code) = inner switch
        {
            NodeUnavailableException unavailable => ("unavailable", unavailable.Code.ToString()),
            P2PException p2p => ("protocol", p2p.Code.ToString()),
            ControlProtocolException => ("badRequest", null),
            DirectoryNotFoundException => ("directoryNotFound", null),
            FileNotFoundException => ("fileNotFound", null),
            FormatException => ("format", null),
            ArgumentException => ("argument", null),
            TimeoutException => ("timeout", null),
            UnauthorizedAccessException => ("denied", null),
            OperationCanceledException => ("cancelled", null),
            InvalidOperationException => ("invalidOperation", null),
            _ => ("other", inner.GetType().Name),
        };
        var error = new JsonObject { ["kind"] = kind, ["message"] = inner.Message };
        if (code is not null)
        {
            error["code"] = code;
        }

        return new JsonObject { ["error"] = error };
    }

    public static Exception FromJson(JsonObject error)
    {
        var kind = (string?)error["kind"] ?? "other";
        var message = (string?)error["message"] ?? "the node reported an error";
        var code = Enum.TryParse<ProtocolError>((string?)error["code"], out var parsed) ? parsed : ProtocolError.None;
        return kind switch
        {
            "unavailable" => new NodeUnavailableException(code, message),
            "protocol" => new P2PException(code, message),
            "badRequest" => new InvalidOperationException(message),
            "directoryNotFound" => new DirectoryNotFoundException(message),
            "fileNotFound" => new FileNotFoundException(message),
            "format" => new FormatException(message),
            "argument" => new ArgumentException(message),
            "timeout" => new TimeoutException(message),
            "denied" => new UnauthorizedAccessException(message),
            "cancelled" => new OperationCanceledException(message),
            _ => new InvalidOperationException(message),
        };
    }
}
