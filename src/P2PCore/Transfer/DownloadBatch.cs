using System.Collections.Concurrent;
using System.Security.Cryptography;
using P2PTransfer.Protocol;

namespace P2PTransfer.Transfer;

/// <summary>
/// Downloads many contents at once (at most <see cref="DownloadOptions.ThrottleLimit"/> at a time), each from all of
/// its sources. Inputs with the same hash and name (or no name) are one download with several sources; the same
/// content under other names (<c>ubuntu.iso</c> and <c>ubuntu-24.04.iso</c>; every empty file has one hash: a folder's
/// <c>.gitkeep</c> and <c>__init__.py</c>) is one item per name, every source of the content serving each of them,
/// but fetched over the network once: the first name downloads it, the others wait and are copied from its verified
/// file (if it fails, the next name downloads it itself). A source that joins while its content downloads is put
/// to work within a quarter of a second. One failure is that item's alone. Needs no local node.
/// </summary>
public sealed class DownloadBatch : IAsyncDisposable
{
    private readonly DownloadOptions _options;
    private readonly SourcePool _pool;
    private readonly CancellationTokenSource _stop;
    private readonly SemaphoreSlim _throttle;
    private readonly Bandwidth? _bandwidth;
    // Add and Contains change and read both maps under this one lock.
    private readonly object _gate = new();
    // Every content by hash (upper-case hex): the names it is saved under, one item each.
    private readonly Dictionary<string, Content> _byHash = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DownloadItem> _byDestination = new(PathComparer);
    private readonly ConcurrentQueue<DownloadItem> _finished = new();
    private readonly List<Task> _running = [];
    private int _count;

    public DownloadBatch(DownloadOptions options, CancellationToken cancellationToken = default)
    {
        _options = options;
        Destination = Path.GetFullPath(options.Destination);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _pool = new SourcePool(_stop.Token, options.NetworkKey);
        _throttle = new SemaphoreSlim(Math.Max(1, options.ThrottleLimit));
        // One limit for the whole command (every file, every source).
        _bandwidth = options.MaxBytesPerSecond is { } rate ? new Bandwidth(rate) : null;
    }

    /// <summary>Paths that are one file on this system: case matters on Linux, not on Windows or macOS.</summary>
    public static StringComparer PathComparer { get; } = OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;

    /// <summary>Every item added, in order.</summary>
    public IReadOnlyList<DownloadItem> Items
    {
        get
        {
            lock (_gate)
            {
                return [.. _byDestination.Values.OrderBy(i => i.Number)];
            }
        }
    }

    /// <summary>
    /// True when the batch saves this content under this name already, or under any name when none is given (another
    /// input names one more source of it); <see cref="ArgumentException"/> for an unsafe name.
    /// </summary>
    public bool Contains(string hash, string? name)
    {
        var key = hash.Trim().ToUpperInvariant();
        var destination = string.IsNullOrEmpty(name) ? null : TargetPath(hash, name);
        lock (_gate)
        {
            return destination is null
                ? _byHash.ContainsKey(key)
                : _byDestination.TryGetValue(destination, out var item) && string.Equals(item.Hash, key, StringComparison.Ordinal);
        }
    }

    /// <summary>The folder files are downloaded into (full path).</summary>
    public string Destination { get; }

    /// <summary>Where <see cref="Add"/> would save this content (for -WhatIf); <see cref="ArgumentException"/> for an unsafe name.</summary>
    public string TargetPath(string hash, string? name) => Path.Combine(Destination, SafeName(name, hash.Trim().ToUpperInvariant()));

    /// <summary>
    /// The address and the expected node of one of a download's <see cref="DownloadItem.Sources"/> ('host:port', or
    /// 'host:port as node GUID' for a source a search result named): what <see cref="Add"/> takes to add it again.
    /// </summary>
    public static (string Address, Guid? NodeId) ParseSource(string source) => SourcePool.Parse(source);

    /// <summary>
    /// Adds a content to download from <paramref name="source"/> ('host:port') under a name, or the source to the
    /// download of that content under that name (under every name, when none is given) when the batch has it already
    /// (then null is returned). The source
    /// also serves the content under its other names, and they serve this one. Throws <see cref="ArgumentException"/>
    /// for a malformed hash, source or unsafe file name, or a name another content is saved under.
    /// With <paramref name="nodeId"/> (a search result's), only that node is downloaded from at the source's address.
    /// Every spelling of one address is one source.
    /// </summary>
    public DownloadItem? Add(string hash, string? name, long? size, string source, Guid? nodeId = null)
    {
        var bytes = FileQuery.ParseHash(hash);
        if (size is < 0 or > TransferLimits.MaxFileSize)
        {
            throw new ArgumentException($"a size of {size:N0} bytes is outside 0..{TransferLimits.MaxFileSize:N0}");
        }

        string given = source;
        try
        {
            source = SourcePool.Key(source, nodeId);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"'{given}' is not a source endpoint ('host:port'): {ex.Message}", ex);
        }

        var key = Convert.ToHexString(bytes);
        var fileName = SafeName(name, key);
        var destination = Path.Combine(Destination, fileName);
        DownloadItem item;
        lock (_gate)
        {
            if (string.IsNullOrEmpty(name) && _byHash.TryGetValue(key, out var named))
            {
                // No name of its own: one more source of the content, wherever it is saved.
                foreach (var same in named.Names)
                {
                    same.AddSource(source);
                }

                return null;
            }

            if (_byDestination.TryGetValue(destination, out var existing))
            {
                if (!string.Equals(existing.Hash, key, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"two different contents would both be saved as '{destination}' ({existing.Hash} and {key})"
                        + (_options.KeepFolders ? string.Empty : "; keep their folders to save each in its own place (Receive-P2PFile -Recurse)"));
                }

                foreach (var same in _byHash[key].Names)
                {
                    same.AddSource(source);
                }

                return null;
            }

            item = new DownloadItem(Interlocked.Increment(ref _count), bytes, fileName.Replace(Path.DirectorySeparatorChar, '/'), size, destination);
            if (!_byHash.TryGetValue(key, out var content))
            {
                content = new Content();
                _byHash.Add(key, content);
            }

            foreach (var other in content.Names)
            {
                foreach (var known in other.Sources)
                {
                    item.AddSource(known);
                }

                other.AddSource(source);
            }

            item.AddSource(source);
            _byDestination.Add(destination, item);
            content.Names.Add(item);
            _options.Registry?.Add(item);
            lock (_running)
            {
                _running.Add(RunItemAsync(item, content));
            }
        }

        return item;
    }

    /// <summary>Items that ended (completed, skipped, failed or cancelled) since the last call.</summary>
    public bool TryTakeFinished(out DownloadItem item) => _finished.TryDequeue(out item!);

    /// <summary>Completes when every item added so far has ended.</summary>
    public Task WhenAllAsync()
    {
        lock (_running)
        {
            return Task.WhenAll(_running);
        }
    }

    /// <summary>Stops every download; partial files stay, to be resumed.</summary>
    public void Cancel() => _stop.Cancel();

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            await WhenAllAsync().ConfigureAwait(false);
        }
        finally
        {
            if (_options.Registry is { } registry)
            {
                foreach (var item in Items)
                {
                    registry.Remove(item);
                }
            }

            await _pool.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
    }

    /// <summary>
    /// Where below the destination a name is saved: a file name (<see cref="SafeFileName"/>), or with
    /// <see cref="DownloadOptions.KeepFolders"/> a relative path (<see cref="SafeRelativePath"/>), as a local relative path.
    /// </summary>
    private string SafeName(string? name, string hash) =>
        _options.KeepFolders && !string.IsNullOrEmpty(name) ? SafeRelativePath(name) : SafeFileName(name, hash);

    /// <summary>
    /// A relative path from the network ('/'-separated, as search results give it) becomes a path below the
    /// destination folder only if each of its segments is a safe file name (<see cref="SafeFileName"/>): no empty
    /// segment (so no rooted path), no '.' or '..', no '\' or ':' inside a segment, no name this or another system
    /// reserves. Returns it in this system's form.
    /// </summary>
    public static string SafeRelativePath(string relativePath)
    {
        var segments = relativePath.Split('/');
        foreach (var segment in segments)
        {
            try
            {
                if (segment.Length == 0)
                {
                    throw new ArgumentException("empty segment");
                }

                SafeFileName(segment, string.Empty);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"'{relativePath}' is not a safe relative path: each of its folders and its file name must be a plain name, so that the file lands inside the destination folder", ex);
            }
        }

        return Path.Combine(segments);
    }

    /// <summary>
    /// A name from the network becomes a file name only if it names a file in the destination folder and nothing
    /// else: no folders, no '..', no characters this system forbids, and none that would make it show as another
    /// name (bidi controls, invisible characters: <see cref="FileNames"/>). Without a name, the hash is the name.
    /// </summary>
    public static string SafeFileName(string? name, string hash)
    {
        if (string.IsNullOrEmpty(name))
        {
            return hash;
        }

        if (FileNames.WhyRefused(name) is { } hidden)
        {
            throw new ArgumentException($"'{Text.Escape(name)}' is not a safe file name: {hidden}; a downloaded file's name must show as what it is");
        }

        if (name is "." or ".." || name.IndexOfAny(['/', '\\', ':', '*', '?', '"', '<', '>', '|']) >= 0 || IsWindowsReserved(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            || name.Trim().Length == 0 || PartialFile.IsPartialName(name)
            || System.Text.Encoding.UTF8.GetByteCount(name) > 255 - PartialFile.RecordSuffix.Length)
        {
            throw new ArgumentException($"'{Text.Escape(name)}' is not a safe file name: a downloaded file must be a plain name inside the destination folder");
        }

        return name;
    }

    /// <summary>Names Windows gives to devices, or cannot keep (a trailing dot or space): refused everywhere, so a batch behaves the same on every system.</summary>
    private static bool IsWindowsReserved(string name)
    {
        if (name.EndsWith('.') || name.EndsWith(' ') || name.Any(char.IsControl))
        {
            return true;
        }

        var stem = name.Split('.')[0].TrimEnd().ToUpperInvariant();
        return stem is "CON" or "PRN" or "AUX" or "NUL"
            || (stem.Length == 4 && (stem.StartsWith("COM", StringComparison.Ordinal) || stem.StartsWith("LPT", StringComparison.Ordinal)) && stem[3] is >= '1' and <= '9');
    }

    private async Task RunItemAsync(DownloadItem item, Content content)
    {
        await Task.Yield();
        // The batch's stop (Ctrl+C, Stop-Job) or the item's own (Stop-P2PTransfer).
        using var itemStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, item.StopToken);
        try
        {
            // One name of a content at a time: the first fetches it from the sources, the others wait and make their
            // file from its verified one here, so the network carries each content once.
            await content.Turn.WaitAsync(itemStop.Token).ConfigureAwait(false);
            try
            {
                await _throttle.WaitAsync(itemStop.Token).ConfigureAwait(false);
                try
                {
                    item.Start();
                    EnsureFolder(Destination);
                    if (Path.GetDirectoryName(item.Destination) is { } folder && !PathComparer.Equals(folder, Destination))
                    {
                        EnsureFolder(folder);
                    }

                    if (await AlreadyPresentAsync(item).ConfigureAwait(false) is { } present)
                    {
                        _options.Trace?.Invoke($"{item.Name}: {item.Destination} already holds this content; skipped");
                        content.Verified = present;
                        item.End(DownloadState.Skipped, present);
                        return;
                    }

                    if (content.Verified is { } verified && await CopyVerifiedAsync(verified, item).ConfigureAwait(false) is { } copy)
                    {
                        _options.Trace?.Invoke($"{item.Name}: made from {verified.FullName}, downloaded under another name");
                        item.End(DownloadState.Completed, copy);
                        return;
                    }

                    var file = await DownloadAsync(item, itemStop.Token).ConfigureAwait(false);
                    content.Verified = file;
                    item.End(DownloadState.Completed, file);
                }
                finally
                {
                    _throttle.Release();
                }
            }
            finally
            {
                content.Turn.Release();
            }
        }
        catch (OperationCanceledException) when (itemStop.IsCancellationRequested)
        {
            if (item.DiscardRequested)
            {
                TransferRegistry.DeletePartial(item.Destination);
            }

            item.End(DownloadState.Stopped);
        }
        catch (Exception ex)
        {
            item.End(DownloadState.Failed, error: ex);
        }
        finally
        {
            _finished.Enqueue(item);
        }
    }

    /// <summary>
    /// Fetches the item from its sources, obeying its controls: a suspend ends the run (the partial file and record
    /// stay) and the item waits; on resume a new run continues from the record. Stop and the batch's stop end it.
    /// </summary>
    private async Task<FileInfo> DownloadAsync(DownloadItem item, CancellationToken stop)
    {
        while (true)
        {
            await item.WhileSuspendedAsync(stop).ConfigureAwait(false);
            if (item.BeginRun(stop) is not { } run)
            {
                continue;
            }

            try
            {
                return await new FileDownload(item, _pool, _options, _bandwidth).RunAsync(run.Token).ConfigureAwait(false);
            }
            catch (Exception) when (!stop.IsCancellationRequested && run.IsCancellationRequested && item.WasSuspended(run))
            {
                _options.Trace?.Invoke($"{item.Name}: suspended, {item.BytesDone:N0} bytes verified");
            }
            finally
            {
                item.EndRun(run);
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="item"/>'s file from a file of the same content that this batch verified under another
    /// name: copied to the item's partial name while hashed, then renamed. Null when that file no longer holds the
    /// content (changed or gone meanwhile) or cannot be read: then the item downloads from its sources.
    /// </summary>
    private async Task<FileInfo?> CopyVerifiedAsync(FileInfo verified, DownloadItem item)
    {
        var partial = item.Destination + PartialFile.DataSuffix;
        try
        {
            await using (var source = new FileStream(verified.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan))
            {
                if (item.Size is { } size && source.Length != size)
                {
                    return null;
                }

                await using var target = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await source.ReadAsync(buffer, _stop.Token).ConfigureAwait(false)) > 0)
                {
                    sha.AppendData(buffer, 0, read);
                    await target.WriteAsync(buffer.AsMemory(0, read), _stop.Token).ConfigureAwait(false);
                }

                if (!sha.GetHashAndReset().AsSpan().SequenceEqual(item.HashBytes))
                {
                    target.Close();
                    File.Delete(partial);
                    return null;
                }

                item.Size = target.Length;
            }

            File.Delete(item.Destination + PartialFile.RecordSuffix);
            File.Move(partial, item.Destination, _options.Force);
            item.Verified(item.Size!.Value);
            return new FileInfo(item.Destination);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _options.Trace?.Invoke($"{item.Name}: cannot make it from {verified.FullName} ({ex.Message}); downloading it");
            return null;
        }
    }

    /// <summary>
    /// Makes the destination folder (and, when folders are kept, the item's folder below it), by each download as it
    /// starts (not before: -WhatIf or no input leaves no folder behind). A folder that cannot be made fails the
    /// downloads that need it, each with its own error naming the folder (<see cref="UnauthorizedAccessException"/>
    /// for no permission, <see cref="DestinationFolderException"/> for any other cause); it never stops the batch.
    /// </summary>
    private static void EnsureFolder(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UnauthorizedAccessException($"cannot create the destination folder '{folder}': {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            // A read-only disk, a file where a folder of the path should be.
            throw new DestinationFolderException(folder, ex);
        }
    }

    /// <summary>The destination when it holds this content already; an error when it holds other content and -Force was not given.</summary>
    private async Task<FileInfo?> AlreadyPresentAsync(DownloadItem item)
    {
        var existing = new FileInfo(item.Destination);
        if (Directory.Exists(item.Destination))
        {
            throw new P2PException(ProtocolError.DestinationExists, $"'{item.Destination}' is a folder");
        }

        if (!existing.Exists)
        {
            return null;
        }

        if (!Index.RegularFile.Is(item.Destination))
        {
            // Never opened to compare (a named pipe would block): not this content. -Force replaces it.
            return _options.Force
                ? null
                : throw new P2PException(ProtocolError.DestinationExists, $"'{item.Destination}' exists and is not a regular file; use -Force to replace it");
        }

        if (item.Size is null || existing.Length == item.Size)
        {
            await using var stream = new FileStream(item.Destination, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var hash = await SHA256.HashDataAsync(stream, _stop.Token).ConfigureAwait(false);
            if (hash.AsSpan().SequenceEqual(item.HashBytes))
            {
                return existing;
            }
        }

        return _options.Force
            ? null
            : throw new P2PException(ProtocolError.DestinationExists, $"'{item.Destination}' exists with other content; use -Force to replace it");
    }

    /// <summary>One content of the batch: the names it is saved under and, once one has it, the verified file.</summary>
    private sealed class Content
    {
        public List<DownloadItem> Names { get; } = [];

        /// <summary>Held by the name whose turn it is to fetch or copy the content.</summary>
        public SemaphoreSlim Turn { get; } = new(1, 1);

        public FileInfo? Verified { get; set; }
    }
}
