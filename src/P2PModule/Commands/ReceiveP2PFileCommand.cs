using System.Management.Automation;
using P2PTransfer.Transfer;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Receive-P2PFile: downloads files found by Find-P2PFile (or given by -Hash and -Source) straight from the servers
/// that have them: many files at once, each from all of its sources, verified, resumable; in the
/// foreground, or as a job (-AsJob).
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "P2PFile", SupportsShouldProcess = true, HelpUri = HelpLinks.Cmdlets + "Receive-P2PFile.md")]
[OutputType(typeof(FileInfo), typeof(P2PTransferJob))]
public sealed class ReceiveP2PFileCommand : DownloadCmdlet
{
    private readonly HashSet<string> _declined = new(DownloadBatch.PathComparer);
    private DownloadBatch? _batch;

    /// <summary>SHA-256 of the content, 64 hex digits (a search result's Hash).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Hash { get; set; } = string.Empty;

    /// <summary>The servers that have the content ('host:port'; a search result's Endpoint).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Endpoint")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(EndpointCompleter))]
    public string[] Source { get; set; } = [];

    /// <summary>
    /// The node expected at the sources (a search result's NodeId): a source where another node answers is not
    /// downloaded from. Without it, whatever node answers at a source is taken.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public Guid? NodeId { get; set; }

    /// <summary>The file name to save as (a search result's Name); the hash when none is given.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Name { get; set; }

    /// <summary>Where the file sits below its source's shared folders ('/'-separated; a search result's RelativePath): with -Recurse, where it is saved below -Destination.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? RelativePath { get; set; }

    /// <summary>Size in bytes, when known (a search result's Size): lets a one-piece file start without asking for its piece list.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    public long? Size { get; set; }

    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    [Parameter]
    [ValidateRange(1, 256)]
    public int ThrottleLimit { get; set; } = TransferLimits.DefaultThrottleLimit;

    [Parameter]
    [ValidateRange(1, 64)]
    public int MaxSources { get; set; } = TransferLimits.DefaultMaxSources;

    /// <summary>Bandwidth of the whole command (all files and sources), in bytes a second: -MaxBytesPerSecond 10MB.</summary>
    [Parameter]
    [ValidateRange(1024, long.MaxValue)]
    public long? MaxBytesPerSecond { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Saves each file in its folders (its RelativePath, or a '/'-separated -Name) below -Destination, made as needed, instead of flat.</summary>
    [Parameter]
    public SwitchParameter Recurse { get; set; }

    /// <summary>The key of the private network the sources belong to: a key file's path or a SecureString.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? NetworkKey { get; set; }

    protected override void BeginProcessing()
    {
        var destination = Destination ?? SessionState.Path.CurrentFileSystemLocation.Path;
        try
        {
            destination = ResolvePath(destination, nameof(Destination));
            if (File.Exists(destination))
            {
                throw new ArgumentException($"-Destination '{destination}' is a file; it must be a folder");
            }

            _batch = NewBatch(destination, ThrottleLimit, MaxSources, MaxBytesPerSecond, Force, keepFolders: Recurse, networkKey: ReadNetworkKey(NetworkKey));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, destination));
        }
    }

    protected override void ProcessRecord()
    {
        var batch = _batch!;
        var name = Recurse && !string.IsNullOrEmpty(RelativePath) ? RelativePath : Name;
        foreach (var source in Source)
        {
            try
            {
                var target = batch.TargetPath(Hash, name);
                if (_declined.Contains(target))
                {
                    break;
                }

                if (batch.Contains(Hash, name))
                {
                    batch.Add(Hash, name, Size, source, NodeId);
                    continue;
                }

                if (!ShouldProcess(target, $"Download {Hash.ToUpperInvariant()} from {source}"))
                {
                    _declined.Add(target);
                    break;
                }

                batch.Add(Hash, name, Size, source, NodeId);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                WriteError(ToErrorRecord(ex, name ?? Hash));
                break;
            }
        }

        Report(force: false);
    }

    protected override void EndProcessing() => RunDownloads();
}
