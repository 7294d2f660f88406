using System.Text.Json.Nodes;

namespace P2PTransfer.Control;

/// <summary>What a node's control handler does with a request: its items go out as they come, its result ends the reply.</summary>
internal delegate Task<JsonNode?> ControlHandler(ControlRequest request, CancellationToken cancellationToken);

/// <summary>One request read from a control connection, and the way to send items of its reply.</summary>
internal sealed class ControlRequest(JsonObject body, Func<JsonNode, Task> writeItem, Task serverStopping)
{
    /// <summary>The request's name ("describe", "peers", ...).</summary>
    public string Op { get; } = body["op"] is JsonValue op && op.TryGetValue<string>(out var name) ? name : throw new ControlProtocolException("a control request needs an 'op' string");

    public JsonObject Body { get; } = body;

    /// <summary>Completes when the server starts to stop, after its node has done all of its own stopping.</summary>
    public Task ServerStopping { get; } = serverStopping;

    /// <summary>Sends one item of the reply now.</summary>
    public Task WriteItemAsync(JsonNode item) => writeItem(item);

    /// <summary>A string field of the request; a missing or mistyped one is a bad request.</summary>
    public string String(string name) =>
        Body[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : throw new ControlProtocolException($"request '{Op}' needs a string '{name}'");

    /// <summary>A list of strings; a missing or mistyped one is a bad request.</summary>
    public IReadOnlyList<string> Strings(string name) =>
        Body[name] is JsonArray array && array.All(item => item is JsonValue v && v.TryGetValue<string>(out _))
            ? [.. array.Select(item => item!.GetValue<string>())]
            : throw new ControlProtocolException($"request '{Op}' needs a list of strings '{name}'");
}
