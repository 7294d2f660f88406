using System.Management.Automation;
using P2PTransfer.Client;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// Test-P2PNode: connects to a node's server as a client (no local node needed), checks that it is available
/// and measures round trips over one connection.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "P2PNode", HelpUri = HelpLinks.Cmdlets + "Test-P2PNode.md")]
[OutputType(typeof(PingReply))]
public sealed class TestP2PNodeCommand : P2PCmdlet
{
    /// <summary>'host:port' of the nodes to test; binds from the Endpoint of Get-P2PNode's output.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Endpoint", "Server")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(EndpointCompleter))]
    public string[] Address { get; set; } = [];

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Count { get; set; } = 1;

    [Parameter]
    [ValidateRange(0, 3600)]
    public double IntervalSec { get; set; } = 1;

    [Parameter]
    [ValidateRange(0.1, 3600)]
    public double TimeoutSec { get; set; } = 5;

    /// <summary>The key of the private network the nodes belong to: a key file's path or a SecureString.</summary>
    [Parameter]
    [ValidateNotNull]
    public object? NetworkKey { get; set; }

    protected override void ProcessRecord()
    {
        var timeout = TimeSpan.FromSeconds(TimeoutSec);
        byte[]? networkKey = null;
        try
        {
            networkKey = ReadNetworkKey(NetworkKey);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ToErrorRecord(ex, NetworkKey));
        }

        ForEachItem(Address, address =>
        {
            var connecting = NodeClient.ConnectAsync(address, networkKey, timeout, StopToken);
            NodeClient client;
            try
            {
                client = Await(connecting);
            }
            catch (PipelineStoppedException)
            {
                // A connection that completes after Ctrl+C is closed, not left holding a slot on the server.
                _ = connecting.ContinueWith(t => t.Result.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
                throw;
            }

            try
            {
                for (int sequence = 1; sequence <= Count; sequence++)
                {
                    if (sequence > 1)
                    {
                        Sleep(TimeSpan.FromSeconds(IntervalSec));
                    }

                    var roundTrip = Await(client.PingAsync(timeout, StopToken));
                    WriteObject(new PingReply(address, client.RemoteId, client.RemoteName, client.RemoteEndpoint, sequence, client.RemoteAvailability, roundTrip.TotalMilliseconds));
                }
            }
            finally
            {
                client.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        });
    }
}
