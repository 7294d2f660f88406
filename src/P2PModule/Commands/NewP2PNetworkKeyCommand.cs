using System.Management.Automation;
using System.Security;
using P2PTransfer.Identity;

namespace P2PTransfer.Module.Commands;

/// <summary>
/// New-P2PNetworkKey: makes a private network's key (32 random bytes) for Start-P2PNode -NetworkKey: to a file only
/// its owner may read (-Path), and/or as a SecureString.
/// </summary>
[Cmdlet(VerbsCommon.New, "P2PNetworkKey", SupportsShouldProcess = true, HelpUri = HelpLinks.Cmdlets + "New-P2PNetworkKey.md")]
[OutputType(typeof(SecureString), typeof(FileInfo))]
public sealed class NewP2PNetworkKeyCommand : P2PCmdlet
{
    /// <summary>The key file to write; refused if it exists, unless -Force.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Writes the key as a SecureString too when -Path is given (without -Path it always is).</summary>
    [Parameter]
    public SwitchParameter AsSecureString { get; set; }

    /// <summary>Replaces an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var key = NetworkKey.New();
        if (Path is not null)
        {
            string file;
            try
            {
                file = ResolvePath(Path, nameof(Path));
            }
            catch (ArgumentException ex)
            {
                ThrowTerminatingError(ToErrorRecord(ex, Path));
                return;
            }

            if (File.Exists(file) && !Force)
            {
                ThrowTerminatingError(new ErrorRecord(new IOException($"'{file}' exists: give -Force to replace it (the nodes that use its key then need the new one)"), "NetworkKeyFileExists", ErrorCategory.ResourceExists, file));
            }

            if (!ShouldProcess(file, "Write a new network key"))
            {
                return;
            }

            try
            {
                NetworkKey.WriteFile(file, key, overwrite: Force);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ThrowTerminatingError(ToErrorRecord(ex, file));
            }

            WriteObject(new FileInfo(file));
        }

        if (Path is null || AsSecureString)
        {
            var secure = new SecureString();
            foreach (var c in key)
            {
                secure.AppendChar(c);
            }

            secure.MakeReadOnly();
            WriteObject(secure);
        }
    }
}
