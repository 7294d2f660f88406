using System.Management.Automation;
using P2PTransfer.Client;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Search;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Find-P2PFile: searches the network for files by name, pattern, extension, size and hash, entering the search
/// at a node of this session (-Node) or at a remote node as a pure client (-Server). Results stream as they arrive.
/// </summary>
[Cmdlet(VerbsCommon.Find, "P2PFile", DefaultParameterSetName = NodeSet, HelpUri = HelpLinks.Cmdlets + "Find-P2PFile.md")]
[OutputType(typeof(P2PSearchResult))]
public sealed class FindP2PFileCommand : P2PCmdlet
{
    private const string NodeSet = "Node";
    private const string ServerSet = "Server";

    // Each node is an entry server once per command, however often the pipeline names it.
    private readonly HashSet<Guid> _searched = [];

    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>A regular expression on the file name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Pattern { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ExtensionCompleter))]
    public string[] Extension { get; set; } = [];

    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? MinSize { get; set; }

    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long? MaxSize { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Hash { get; set; }

    /// <summary>Wildcards on the relative path ('share1/photos/*'): '*' stays within a folder, '**' spans folders, a matching folder brings everything below it.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>Answer from the entry server's own index only (the original client's 'only the server I am connected to').</summary>
    [Parameter]
    public SwitchParameter LocalOnly { get; set; }

    [Parameter]
    [ValidateRange(0, SearchLimits.MaxTtl)]
    public int TTL { get; set; } = SearchLimits.DefaultTtl;

    [Parameter]
    [ValidateRange(0.0, 120.0)]
    public double TimeoutSec { get; set; } = SearchLimits.DefaultTimeout.TotalSeconds;

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int MaxResults { get; set; } = int.MaxValue;

    /// <summary>The node to enter the search at (of this session or another session of this user); from the pipeline, or the session's only running node.</summary>
    [Parameter(ParameterSetName = NodeSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("LocalNode")]
    [NodeTransformation]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public IManagedNode? Node { get; set; }

    /// <summary>A remote node ('host:port') to enter the search at, as a pure client: no local node needed.</summary>
    [Parameter(ParameterSetName = ServerSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    [Alias("Address")]
    [ArgumentCompleter(typeof(EndpointCompleter))]
    public string Server { get; set; } = string.Empty;

    /// <summary>With -Server: the key of the private network the server belongs to (a key file's path or a SecureString).</summary>
    [Parameter(ParameterSetName = ServerSet)]
    [ValidateNotNull]
    public object? NetworkKey { get; set; }

    protected override void ProcessRecord()
    {
        var query = new FileQuery
        {
            Names = Name,
            Pattern = Pattern,
            Extensions = Extension,
            MinSize = MinSize,
            MaxSize = MaxSize,
            Hash = Hash,
            Paths = Path,
        };
        var options = new SearchOptions
        {
            Ttl = LocalOnly ? 0 : TTL,
            Timeout = TimeSpan.FromSeconds(TimeoutSec),
            MaxResults = MaxResults,
            Trace = Trace,
        };

        if (ParameterSetName == ServerSet)
        {
            SearchThroughServer(query, options);
            return;
        }

        if (!TryResolveNode(Node, out var node) || !_searched.Add(node.Id))
        {
            return;
        }

        try
        {
            using var trace = TraceNode(node);
            foreach (var result in AwaitEach(node.SearchAsync(query, options, LocalOnly, StopToken)))
            {
                WriteObject(result);
            }
        }
        catch (NodeUnavailableException ex) when (MyInvocation.ExpectingInput)
        {
            // A closing node among several piped in: an error for that one, the others are still searched.
            WriteError(ToErrorRecord(ex, node));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException && !StopToken.IsCancellationRequested)
        {
            ThrowTerminatingError(ToErrorRecord(ex, query));
        }
    }

    private void SearchThroughServer(FileQuery query, SearchOptions options)
    {
        NodeClient? client = null;
        try
        {
            query.Validate();
            client = Await(NodeClient.ConnectAsync(Server, ReadNetworkKey(NetworkKey), cancellationToken: StopToken));
            foreach (var result in AwaitEach(client.SearchAsync(query, options)))
            {
                WriteObject(result);
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException && !StopToken.IsCancellationRequested)
        {
            ThrowTerminatingError(ToErrorRecord(ex, Server));
        }
        finally
        {
            if (client is not null)
            {
                WaitQuietly(client.DisposeAsync().AsTask());
            }
        }
    }
}
