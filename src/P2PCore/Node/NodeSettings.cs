using System.Text.Json;
using System.Text.Json.Serialization;
using P2PTransfer.Index;

namespace P2PTransfer.Node;

/// <summary>
/// A node's settings as kept in its state directory (node.json): written by every start (Start-P2PNode) and by
/// Install-P2PService, read by the service host (P2PHost) when it starts the node. <see cref="Shares"/> is a request
/// applied once: a start that shared them writes null back, from then on the node shares what its index holds (with
/// everything published or unpublished while a node ran from the folder).
/// </summary>
public sealed class NodeSettings
{
    /// <summary>The file's name in the state directory.</summary>
    public const string FileName = "node.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string? Name { get; set; }

    /// <summary>Folders and files to share from the next start, replacing what the state directory shares; null: what it shares already.</summary>
    public List<string>? Shares { get; set; }

    public List<string> Exclude { get; set; } = [];

    public int Port { get; set; } = NodeOptions.DefaultPort;

    public string ListenAddress { get; set; } = "0.0.0.0";

    public string? AdvertisedHost { get; set; }

    public List<string> Peers { get; set; } = [];

    public int TargetPeers { get; set; } = 8;

    public int MaxUploads { get; set; } = Transfer.TransferLimits.DefaultMaxUploads;

    public double DrainTimeoutSec { get; set; } = 10;

    public bool Discovery { get; set; } = true;

    /// <summary>The file holding the private network's key (never the key itself); null on an open network, or when the key was given otherwise.</summary>
    public string? NetworkKeyFile { get; set; }

    /// <summary>True when the node was started on a private network: a host that has no key file for it refuses to start it rather than open it to everyone.</summary>
    public bool Private { get; set; }

    /// <summary>The only nodes the node links to, answers and serves (-TrustedNode); null or empty for all.</summary>
    public List<Guid>? TrustedNodes { get; set; }

    /// <summary>The settings a node was started with (its shares as given: null for "what it shares already").</summary>
    public static NodeSettings From(NodeOptions options, string? name = null) => new()
    {
        Name = name ?? options.Name,
        Shares = options.Index.Shares is { } shares ? [.. shares] : null,
        Exclude = [.. options.Index.Exclude],
        Port = options.Port,
        ListenAddress = options.ListenAddress,
        AdvertisedHost = options.AdvertisedHost,
        Peers = [.. options.Peers],
        TargetPeers = options.TargetPeers,
        MaxUploads = options.MaxUploads,
        DrainTimeoutSec = options.DrainTimeout.TotalSeconds,
        Discovery = options.Discovery.Enabled,
        NetworkKeyFile = options.NetworkKey is null ? null : options.NetworkKeyFile,
        Private = options.NetworkKey is not null,
        TrustedNodes = options.TrustedNodes is { Count: > 0 } trusted ? [.. trusted] : null,
    };

    /// <summary>The options to start a node from this state directory with these settings.</summary>
    /// <remarks>A list or address written as null in the file (by hand) means its default.</remarks>
    public NodeOptions ToOptions(string stateDirectory) => new()
    {
        NetworkKey = NetworkKeyFile is { } keyFile ? Identity.NetworkKey.ReadFile(keyFile)
            : Private ? throw new InvalidDataException($"the node of '{stateDirectory}' was last started on a private network with its key given as a SecureString; give the key as a file (Start-P2PNode -NetworkKey PATH or Install-P2PService -NetworkKey PATH) so the node can be started on that network again")
            : null,
        NetworkKeyFile = NetworkKeyFile,
        TrustedNodes = TrustedNodes is { Count: > 0 } ? TrustedNodes : null,
        Name = Name,
        StateDirectory = stateDirectory,
        Index = new IndexOptions { Shares = Shares, Exclude = Exclude ?? [] },
        Port = Port,
        ListenAddress = ListenAddress ?? "0.0.0.0",
        AdvertisedHost = AdvertisedHost,
        Peers = Peers ?? [],
        TargetPeers = TargetPeers,
        MaxUploads = MaxUploads,
        DrainTimeout = TimeSpan.FromSeconds(DrainTimeoutSec),
        Discovery = { Enabled = Discovery },
    };

    /// <summary>Reads node.json from a state directory; null when there is none. A damaged file is an error that names it.</summary>
    public static NodeSettings? Load(string stateDirectory)
    {
        var file = Path.Combine(stateDirectory, FileName);
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<NodeSettings>(File.ReadAllText(file), Json) ?? throw new JsonException("the file is empty");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"the node settings '{file}' cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>Writes node.json into a state directory (made if needed): beside and renamed, so a crash never leaves half a file.</summary>
    public void Save(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        var file = Path.Combine(stateDirectory, FileName);
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, file, overwrite: true);
    }
}
