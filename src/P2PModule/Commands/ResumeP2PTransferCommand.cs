using System.Management.Automation;
using P2PTransfer.Node;
using P2PTransfer.Protocol;
using P2PTransfer.Search;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Resume-P2PTransfer: a suspended download of the session fetches again (in the command or job that runs it). A
/// stopped or failed one (of this session, or left by an earlier run: Ctrl+C, a stopped job, a crash) is downloaded
/// again into its destination, continuing from its partial file, like Receive-P2PFile: in the foreground, or as a job
/// with -AsJob. Its sources are those given (-Source), else those it had, else found by a search for its hash
/// through a node of the session.
/// </summary>
[Cmdlet(VerbsLifecycle.Resume, "P2PTransfer", SupportsShouldProcess = true, DefaultParameterSetName = TransferControlCmdlet.TransferSet, HelpUri = HelpLinks.Cmdlets + "Resume-P2PTransfer.md")]
[OutputType(typeof(DownloadItem), typeof(FileInfo), typeof(P2PTransferJob))]
public sealed class ResumeP2PTransferCommand : DownloadCmdlet
{
    private readonly Dictionary<string, DownloadBatch> _byFolder = new(DownloadBatch.PathComparer);
    private byte[]? _networkKey;

    /// <summary>Downloads from Get-P2PTransfer.</summary>
    [Parameter(ParameterSetName = TransferControlCmdlet.TransferSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public DownloadItem[] Transfer { get; set; } = [];

    /// <summary>Ids of the session's downloads.</summary>
    [Parameter(ParameterSetName = TransferControlCmdlet.IdSet, Mandatory = true)]
    public int[] Id { get; set; } = [];

    /// <summary>Where downloads end: their destination files (or partial files).</summary>
    [Parameter(ParameterSetName = TransferControlCmdlet.PathSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = [];

    /// <summary>The servers to fetch from ('host:port'), instead of the sources the download had or a search.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Alias("Endpoint")]
    public string[]? Source { get; set; }

    /// <summary>
    /// The node expected at the -Source servers (as Receive-P2PFile's -NodeId): a source where another node answers is
    /// not downloaded from. Without it, whatever node answers at a given source is taken.
    /// </summary>
    [Parameter]
    public Guid? NodeId { get; set; }

    /// <summary>The key of the private network the sources belong to: a key file's path or a SecureString.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? NetworkKey { get; set; }

    /// <summary>The node to search the network through for sources, when none are known; defaults to the session's only node.</summary>
    [Parameter]
    [NodeTransformation]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public IManagedNode? Node { get; set; }

    /// <summary>How long a search for sources gathers them, in seconds.</summary>
    [Parameter]
    [ValidateRange(0.1, 60)]
    public double SearchTimeoutSec { get; set; } = SearchLimits.DefaultTimeout.TotalSeconds;

    [Parameter]
    [ValidateRange(1024, long.MaxValue)]
    public long? MaxBytesPerSecond { get; set; }

    protected override void BeginProcessing()
    {
        try
        {
            _networkKey = ReadNetworkKey(NetworkKey);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, NetworkKey));
        }
    }

    protected override void ProcessRecord()
    {
        foreach (var transfer in TransferLookup.Select(this, ParameterSetName, Transfer, Id, Path))
        {
            switch (transfer.State)
            {
                case DownloadState.Suspended when transfer.Id != 0:
                    if (ShouldProcess(transfer.Destination, "Resume download"))
                    {
                        transfer.Resume();
                        if (PassThru)
                        {
                            WriteObject(transfer);
                        }
                    }

                    break;
                case DownloadState.Stopped or DownloadState.Failed:
                    if (ShouldProcess(transfer.Destination, "Download again, continuing from its partial file"))
                    {
                        Restart(transfer);
                    }

                    break;
                default:
                    WriteVerbose($"{transfer.Name} is {transfer.State}: nothing to resume");
                    break;
            }
        }

        Report(force: false);
    }

    protected override void EndProcessing() => RunDownloads();

    /// <summary>Downloads a stopped item again into its destination: a batch per folder, the record says what is verified.</summary>
    private void Restart(DownloadItem transfer)
    {
        try
        {
            // Each source with the node expected there: a kept source names it, a search result's is its
            // NodeId, a given one is -NodeId's.
            (string Address, Guid? NodeId)[] sources = Source is not null
                ? [.. Source.Select(s => (s, NodeId))]
                : transfer.Sources.Count > 0 ? [.. transfer.Sources.Select(DownloadBatch.ParseSource)] : FindSources(transfer);
            if (sources.Length == 0)
            {
                WriteError(new ErrorRecord(
                    new P2PException(ProtocolError.UnknownFile, $"no source has {transfer.Name} ({transfer.Hash}): a search for its hash found none; give its sources with -Source"),
                    "NoSourceFound",
                    ErrorCategory.ResourceUnavailable,
                    transfer));
                return;
            }

            var folder = System.IO.Path.GetDirectoryName(transfer.Destination)!;
            if (!_byFolder.TryGetValue(folder, out var batch))
            {
                batch = NewBatch(folder, TransferLimits.DefaultThrottleLimit, TransferLimits.DefaultMaxSources, MaxBytesPerSecond, force: false, networkKey: _networkKey);
                _byFolder.Add(folder, batch);
            }

            // The file's own name in its own folder: a download that kept its folders (Receive-P2PFile -Recurse) is named
            // by its path below the destination it was given, which a flat batch in the file's folder does not take.
            var name = System.IO.Path.GetFileName(transfer.Destination);
            foreach (var (address, nodeId) in sources)
            {
                batch.Add(transfer.Hash, name, transfer.Size, address, nodeId);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or P2PException or P2PCmdletException)
        {
            WriteError(ToErrorRecord(ex, transfer));
        }
    }

    /// <summary>The servers that a search for the content's hash finds, through a node of the session, each with the node that answered there.</summary>
    private (string Address, Guid? NodeId)[] FindSources(DownloadItem transfer)
    {
        IManagedNode node;
        try
        {
            node = NodeRegistry.Resolve(Node);
        }
        catch (P2PCmdletException ex)
        {
            throw new P2PCmdletException(ex.ErrorId, ex.Category, $"{transfer.Name} has no known sources and no node can search for them ({ex.Message}); give its sources with -Source");
        }

        WriteVerbose($"{transfer.Name}: searching for sources of {transfer.Hash} through node {node.Name}");
        var options = new SearchOptions { Timeout = TimeSpan.FromSeconds(SearchTimeoutSec), MaxResults = TransferLimits.DefaultMaxSources, Trace = Trace };
        return [.. AwaitEach(node.SearchAsync(new FileQuery { Hash = transfer.Hash }, options, localOnly: false)).Select(r => (r.Endpoint, (Guid?)r.NodeId)).Distinct()];
    }
}
