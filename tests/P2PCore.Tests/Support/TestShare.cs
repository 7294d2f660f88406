using P2PTransfer.Common;
using P2PTransfer.Index;

namespace P2PTransfer.Tests.Support;

/// <summary>A throw-away shared folder and state folder, and the index opened over them.</summary>
public sealed class TestShare : IAsyncDisposable
{
    private readonly List<ShareIndex> _open = [];

    public TestShare()
    {
        Root = Path.Combine(Path.GetTempPath(), "p2pt-tests", Guid.NewGuid().ToString("N"));
        Folder = Path.Combine(Root, "pub");
        State = Path.Combine(Root, "state");
        Directory.CreateDirectory(Folder);
        Directory.CreateDirectory(State);
    }

    public string Root { get; }

    /// <summary>The shared folder.</summary>
    public string Folder { get; }

    public string State { get; }

    public NodeLog Log { get; } = new();

    /// <summary>Writes a file below the shared folder ('/'-separated relative path) and returns its full path.</summary>
    public string Write(string relativePath, byte[] content)
    {
        var path = Path.Combine(Folder, relativePath.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    public string Write(string relativePath, string content) => Write(relativePath, System.Text.Encoding.UTF8.GetBytes(content));

    /// <summary>Opens the index sharing <see cref="Folder"/> (or the given shares) and waits until it is idle.</summary>
    public async Task<ShareIndex> OpenAsync(Action<IndexOptions>? configure = null, bool wait = true)
    {
        var options = new IndexOptions { Shares = [Folder], ChangeDelay = TimeSpan.FromMilliseconds(100) };
        configure?.Invoke(options);
        var index = ShareIndex.Open(State, options, Log);
        _open.Add(index);
        if (wait)
        {
            await IdleAsync(index);
        }

        return index;
    }

    /// <summary>The hash Get-FileHash prints for a file.</summary>
    public static string HashOf(string path) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>Every entry below the shared folder with its size and last-write time: proof that nothing was written there.</summary>
    public List<string> Snapshot() =>
        [.. new DirectoryInfo(Folder).EnumerateFileSystemInfos("*", SearchOption.AllDirectories)
            .Select(e => $"{e.FullName}|{(e as FileInfo)?.Length}|{e.LastWriteTimeUtc.Ticks}")
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// Writes a marker file after changes made to the share, waits until the index lists it and then until it is
    /// idle: the changes made before the marker have been looked at by then.
    /// </summary>
    public async Task SettleAsync(ShareIndex index)
    {
        var marker = Write("marker.txt", "written last");
        Assert.True(await Eventually.TrueAsync(() => index.GetFiles().Any(f => f.FullName == marker), TimeSpan.FromSeconds(10)));
        await IdleAsync(index);
    }

    public static async Task IdleAsync(ShareIndex index)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await index.WaitIdleAsync(timeout.Token);
    }

    public async Task CloseAsync(ShareIndex index)
    {
        await index.DisposeAsync();
        _open.Remove(index);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var index in _open)
        {
            await index.DisposeAsync();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
