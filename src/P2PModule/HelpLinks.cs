namespace P2PTransfer.Module;

/// <summary>Where each cmdlet's help lives online (Get-Help -Online): its source page in the repository's docs.</summary>
internal static class HelpLinks
{
    public const string Cmdlets = "https://github.com/p2ptransfer/P2PTransfer/blob/main/docs/cmdlets/";
}
