using P2PTransfer.Common;
using P2PTransfer.Net;
using P2PTransfer.Search;
using P2PTransfer.Transfer;

namespace P2PTransfer.Node;

/// <summary>What a client's session uses of the node serving it.</summary>
internal sealed record ServingNode(Guid Id, string Name, string Endpoint, UploadService Uploads, SearchRouter Search, BackgroundTasks Tasks, ConnectionLiveness Liveness);
