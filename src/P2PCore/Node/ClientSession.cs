using P2PTransfer.Net;
using P2PTransfer.Protocol;
using P2PTransfer.Protocol.Messages;

namespace P2PTransfer.Node;

/// <summary>The server side of a client's connection. Protocol v1 clients only ping; search and transfer requests come next.</summary>
public sealed class ClientSession(FrameConnection connection, Hello hello)
    : Session(connection, hello.NodeId, hello.Name, hello.Endpoint.Length > 0 ? hello.Endpoint : connection.RemoteEndPoint, NodeAvailability.Available);
