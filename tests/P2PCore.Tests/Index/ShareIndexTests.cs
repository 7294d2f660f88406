using System.Security.Cryptography;
using P2PTransfer.Common;
using P2PTransfer.Index;
using P2PTransfer.Protocol;
using P2PTransfer.Tests.Support;

namespace P2PTransfer.Tests.Index;

/// <summary>The index follows the disk, survives restarts without re-reading, and never shares what it must not.</summary>
public sealed class ShareIndexTests : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);
    private readonly TestShare _share = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _share.DisposeAsync();

    private static string HashOf(string path) => TestShare.HashOf(path);

    private static Dictionary<string, SharedFile> Listed(ShareIndex index) => index.GetFiles().ToDictionary(f => f.RelativePath);

    [Fact]
    public async Task Shared_files_are_listed_with_the_hash_GetFileHash_prints()
    {
        var a = _share.Write("a.txt", "alpha");
        var b = _share.Write("deep/er/b.bin", new byte[3 * FileDigest.PieceSize + 7]);
        var before = _share.Snapshot();
        var index = await _share.OpenAsync();

        var files = Listed(index);
        Assert.Equal(["pub/a.txt", "pub/deep/er/b.bin"], files.Keys.Order());
        Assert.Equal(HashOf(a), files["pub/a.txt"].Hash);
        Assert.Equal(HashOf(b), files["pub/deep/er/b.bin"].Hash);
        Assert.All(files.Values, f => Assert.Equal(SharedFileState.Ready, f.State));
        Assert.Equal(new IndexProgress(2, 5 + 3 * FileDigest.PieceSize + 7, 0, 0, 0), index.GetProgress());
        var found = index.FindByHash(files["pub/deep/er/b.bin"].Hash!);
        Assert.Equal(4, found!.Value.Digest.PieceHashes.Length / FileDigest.HashSize);

        // Indexing wrote nothing into the shared folder.
        await _share.CloseAsync(index);
        Assert.Equal(before, _share.Snapshot());
    }

    [Fact]
    public async Task Every_file_of_a_large_share_is_read_exactly_once()
    {
        for (var i = 0; i < 3000; i++)
        {
            _share.Write($"d{i % 30:D2}/f{i:D4}.txt", $"content {i}");
        }

        var index = await _share.OpenAsync();

        Assert.Equal(3000, index.Counters.FilesHashed);
        Assert.Equal(3000, index.GetProgress().FilesDone);

        // Results come in pages; every page boundary is crossed without losing or repeating a file.
        Assert.Equal(3000, index.GetFiles().Select(f => f.RelativePath).Distinct().Count());
        Assert.Equal(3000, index.Search(FileQuery.All).Select(f => f.RelativePath).Distinct().Count());
        Assert.Equal(3000, index.Search(new FileQuery { Names = ["*.txt"] }).Select(f => f.RelativePath).Distinct().Count());
        Assert.Equal(1000, index.Search(new FileQuery { Names = ["f1*", "*.txt"] }, maxResults: 1000).Select(f => f.RelativePath).Distinct().Count());
        Assert.Equal(600, index.Search(new FileQuery { Pattern = @"^f\d\d\d[05]\.txt$" }).Count());
    }

    [Fact]
    public async Task Added_changed_renamed_and_deleted_files_are_followed_while_running()
    {
        var keep = _share.Write("keep.txt", "keep");
        var change = _share.Write("change.txt", "before");
        var rename = _share.Write("old-name.txt", "renamed content");
        var delete = _share.Write("sub/delete.txt", "gone soon");
        var index = await _share.OpenAsync();

        var added = _share.Write("sub/added.txt", "new");
        File.WriteAllText(change, "after, and longer");
        File.Move(rename, Path.Combine(_share.Folder, "new-name.txt"));
        File.Delete(delete);

        Assert.True(await Eventually.TrueAsync(
            () =>
            {
                var files = Listed(index);
                return files.Keys.Order().SequenceEqual(["pub/change.txt", "pub/keep.txt", "pub/new-name.txt", "pub/sub/added.txt"])
                    && files.Values.All(f => f.State == SharedFileState.Ready)
                    && files["pub/change.txt"].Hash == HashOf(change);
            },
            Within));
        Assert.Equal(HashOf(added), Listed(index)["pub/sub/added.txt"].Hash);
        Assert.Equal(HashOf(keep), Listed(index)["pub/keep.txt"].Hash);
        Assert.True(index.Counters.ChangeNotifications > 0);
    }

    [Fact]
    public async Task A_renamed_folder_moves_every_file_below_it()
    {
        _share.Write("old/one.txt", "1");
        _share.Write("old/two/three.txt", "3");
        var index = await _share.OpenAsync();

        Directory.Move(Path.Combine(_share.Folder, "old"), Path.Combine(_share.Folder, "new"));

        Assert.True(await Eventually.TrueAsync(
            () => Listed(index).Keys.Order().SequenceEqual(["pub/new/one.txt", "pub/new/two/three.txt"])
                && Listed(index).Values.All(f => f.State == SharedFileState.Ready),
            Within));
    }

    [Fact]
    public async Task After_a_restart_unchanged_files_are_not_read_again()
    {
        for (var i = 0; i < 50; i++)
        {
            _share.Write($"f{i:D2}.txt", $"file {i}");
        }

        var first = await _share.OpenAsync();
        Assert.Equal(50, first.Counters.FilesHashed);
        await _share.CloseAsync(first);

        var changed = _share.Write("f07.txt", "changed while the node was stopped");
        File.Delete(Path.Combine(_share.Folder, "f08.txt"));
        var second = await _share.OpenAsync();

        Assert.Equal(1, second.Counters.FilesHashed);
        Assert.Equal(48, second.Counters.FilesUnchanged);
        var files = Listed(second);
        Assert.Equal(49, files.Count);
        Assert.Equal(HashOf(changed), files["pub/f07.txt"].Hash);
    }

    [Fact]
    public async Task Without_a_share_list_a_restart_shares_what_was_shared_last_time()
    {
        _share.Write("x.txt", "x");
        var other = Path.Combine(_share.Root, "other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "y.txt"), "y");

        await _share.CloseAsync(await _share.OpenAsync(o => o.Shares = [_share.Folder, other]));
        var kept = await _share.OpenAsync(o => o.Shares = null);
        Assert.Equal(["other/y.txt", "pub/x.txt"], Listed(kept).Keys.Order());
        await _share.CloseAsync(kept);

        var replaced = await _share.OpenAsync(o => o.Shares = [other]);
        Assert.Equal(["other/y.txt"], Listed(replaced).Keys);
    }

    [Fact]
    public async Task Links_are_never_followed_so_nothing_outside_the_share_is_reachable()
    {
        var outside = Path.Combine(_share.Root, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "secret");
        _share.Write("real.txt", "inside");
        File.CreateSymbolicLink(Path.Combine(_share.Folder, "escape.txt"), Path.Combine(outside, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(_share.Folder, "relative-escape.txt"), "../outside/secret.txt");
        Directory.CreateSymbolicLink(Path.Combine(_share.Folder, "escape-folder"), outside);
        File.CreateSymbolicLink(Path.Combine(_share.Folder, "through-folder-link.txt"), "escape-folder/secret.txt");
        File.CreateSymbolicLink(Path.Combine(_share.Folder, "alias.txt"), Path.Combine(_share.Folder, "real.txt"));

        var index = await _share.OpenAsync();

        Assert.Equal(["pub/real.txt"], Listed(index).Keys);
        Assert.Equal(5, index.Counters.LinksSkipped);
        Assert.Empty(index.Search(new FileQuery { Names = ["secret*"] }));

        // A path through a folder link, published on its own, is not shared either.
        var throughLink = Path.Combine(_share.Folder, "escape-folder", "secret.txt");
        await index.UnpublishAsync([throughLink]);
        await index.PublishAsync([throughLink]);
        await TestShare.IdleAsync(index);
        Assert.Equal(["pub/real.txt"], Listed(index).Keys);
    }

    [Fact]
    public async Task Changes_below_an_excluded_folder_are_not_shared()
    {
        _share.Write("keep.txt", "k");
        _share.Write(".git/config", "c");
        _share.Write("private/diary.txt", "d");
        var index = await _share.OpenAsync(o => o.Exclude = [".git"]);
        await index.UnpublishAsync([Path.Combine(_share.Folder, "private")]);

        _share.Write(".git/config", "changed");
        _share.Write(".git/objects/ab", "new");
        _share.Write("private/diary.txt", "changed diary");
        _share.Write("private/new.txt", "new");

        await _share.SettleAsync(index);
        Assert.Equal(["pub/keep.txt", "pub/marker.txt"], Listed(index).Keys.Order());
    }

    [Fact]
    public async Task Empty_files_are_shared_and_found_with_the_hash_of_nothing_and_no_pieces()
    {
        _share.Write("src/.gitkeep", []);
        _share.Write("pkg/__init__.py", []);
        _share.Write("full.txt", "x");
        var nothing = Convert.ToHexString(SHA256.HashData([]));

        var index = await _share.OpenAsync();

        var files = Listed(index);
        Assert.Equal(["pub/full.txt", "pub/pkg/__init__.py", "pub/src/.gitkeep"], files.Keys.Order());
        foreach (var empty in new[] { files["pub/src/.gitkeep"], files["pub/pkg/__init__.py"] })
        {
            Assert.Equal(SharedFileState.Ready, empty.State);
            Assert.Equal(0, empty.Size);
            Assert.Equal(nothing, empty.Hash);
        }

        var found = Assert.Single(index.Search(new FileQuery { Names = [".gitkeep"] }));
        Assert.Equal(("pub/src/.gitkeep", 0L, nothing), (found.RelativePath, found.Size, found.Hash));
        var digest = index.FindByHash(nothing)!.Value.Digest;
        Assert.Equal(0, digest.Size);
        Assert.Empty(digest.PieceHashes);
    }

    [Fact]
    public async Task A_named_pipe_is_judged_by_its_type_never_opened_and_not_shared()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _share.Write("empty.txt", []);
        var pipe = Path.Combine(_share.Folder, "pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        ShareIndex index;
        try
        {
            // Opening the pipe to read it would wait for a writer for ever: indexing would never become idle.
            index = await _share.OpenAsync();
        }
        catch (OperationCanceledException)
        {
            // Release a reader stuck on the pipe, so that the index can be closed and the test ends.
            _ = Task.Run(() => new FileStream(pipe, FileMode.Open, FileAccess.Write).Dispose());
            throw;
        }

        Assert.Equal(["pub/empty.txt"], Listed(index).Keys);
        Assert.Empty(index.Search(new FileQuery { Names = ["pipe"] }));
    }

    [Fact]
    public async Task A_share_that_is_not_reachable_keeps_its_files_and_is_not_hashed_again_when_back()
    {
        for (var i = 0; i < 5; i++)
        {
            _share.Write($"f{i}.txt", $"file {i}");
        }

        var index = await _share.OpenAsync();
        var away = _share.Folder + "-away";
        Directory.Move(_share.Folder, away);
        await index.ReconcileAsync();
        Assert.Equal(5, Listed(index).Count);
        Assert.Contains(_share.Log.Recent(), e => e.Level == NodeLogLevel.Warning && e.Message.Contains("not reachable"));

        Directory.Move(away, _share.Folder);
        await index.ReconcileAsync();
        await TestShare.IdleAsync(index);
        Assert.Equal(5, index.Counters.FilesHashed);
        Assert.Equal(5, Listed(index).Count);
    }

    [Fact]
    public async Task A_file_written_without_pause_does_not_hold_back_other_changes()
    {
        _share.Write("keep.txt", "k");

        // A quiet time far longer than the pauses between the log's lines, even on a busy machine: only the cap on
        // how long changes may wait can get the new file looked at while the log is being written.
        var index = await _share.OpenAsync(o => o.ChangeDelay = TimeSpan.FromSeconds(20));
        var notified = index.Counters.ChangeNotifications;
        using var writing = new CancellationTokenSource();
        var log = Path.Combine(_share.Folder, "app.log");
        var writer = Task.Run(async () =>
        {
            // At least a minute of lines, 50 ms apart; the test stops it once it has seen what it needs.
            for (var i = 0; i < 1200 && !writing.IsCancellationRequested; i++)
            {
                await File.AppendAllTextAsync(log, $"line {i}\n");
                await Task.Delay(50);
            }
        });

        try
        {
            Assert.True(await Eventually.TrueAsync(() => index.Counters.ChangeNotifications > notified, Within), "the log being written was never noticed");
            var added = _share.Write("added.txt", "new");
            Assert.True(await Eventually.TrueAsync(() => Listed(index).TryGetValue("pub/added.txt", out var f) && f.State == SharedFileState.Ready, TimeSpan.FromSeconds(30)));
            Assert.False(writer.IsCompleted, "the new file must be shared while the log is still being written");
            Assert.Single(index.Search(new FileQuery { Names = ["added.txt"] }));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await index.WaitHashedAsync([added], timeout.Token);
        }
        finally
        {
            writing.Cancel();
            await writer;
        }
    }

    [Fact]
    public async Task Excluded_names_are_never_shared()
    {
        _share.Write("keep.txt", "k");
        _share.Write("scratch.TMP", "t");
        _share.Write(".git/config", "c");
        var index = await _share.OpenAsync(o => o.Exclude = ["*.tmp", ".git"]);
        Assert.Equal(["pub/keep.txt"], Listed(index).Keys);
    }

    [Fact]
    public async Task Unpublishing_a_path_inside_a_share_excludes_it_until_published_again()
    {
        _share.Write("keep.txt", "k");
        _share.Write("private/diary.txt", "d");
        var index = await _share.OpenAsync();

        await index.UnpublishAsync([Path.Combine(_share.Folder, "private")]);
        Assert.Equal(["pub/keep.txt"], Listed(index).Keys);

        await index.PublishAsync([Path.Combine(_share.Folder, "private")]);
        await TestShare.IdleAsync(index);
        Assert.Equal(["pub/keep.txt", "pub/private/diary.txt"], Listed(index).Keys.Order());
    }

    [Fact]
    public async Task Publishing_a_parent_folder_keeps_what_was_unpublished_inside()
    {
        _share.Write("photos/me.jpg", "me");
        _share.Write("photos/private/secret.jpg", "secret");
        var index = await _share.OpenAsync(o => o.Shares = [Path.Combine(_share.Folder, "photos")]);
        await index.UnpublishAsync([Path.Combine(_share.Folder, "photos", "private")]);

        await index.PublishAsync([_share.Folder]);
        await TestShare.IdleAsync(index);

        Assert.Equal(["pub/photos/me.jpg"], Listed(index).Keys);
        Assert.Equal(2, index.Counters.FilesHashed);
        await Assert.ThrowsAsync<ArgumentException>(() => index.PublishAsync([Path.Combine(_share.Folder, "photos", "private", "secret.jpg")]));
    }

    [Fact]
    public async Task Restarting_with_a_parent_folder_keeps_hashes_and_what_was_unpublished()
    {
        _share.Write("photos/me.jpg", "me");
        _share.Write("photos/private/secret.jpg", "secret");
        _share.Write("notes.txt", "n");
        var first = await _share.OpenAsync(o => o.Shares = [Path.Combine(_share.Folder, "photos")]);
        await first.UnpublishAsync([Path.Combine(_share.Folder, "photos", "private")]);
        await _share.CloseAsync(first);

        var again = await _share.OpenAsync();

        Assert.Equal(["pub/notes.txt", "pub/photos/me.jpg"], Listed(again).Keys.Order());
        Assert.Equal(1, again.Counters.FilesHashed);
    }

    [Fact]
    public async Task A_single_file_unpublished_inside_a_share_stays_unshared_and_excluded_names_stay_out()
    {
        _share.Write("keep.txt", "k");
        var secret = _share.Write("secret.txt", "s");
        var index = await _share.OpenAsync(o => o.Exclude = ["*.tmp"]);

        await index.UnpublishAsync([secret]);
        Assert.Equal(["pub/keep.txt"], Listed(index).Keys);

        File.AppendAllText(secret, " changed");
        _share.Write("scratch.tmp", "temporary");
        await _share.SettleAsync(index);
        Assert.Equal(["pub/keep.txt", "pub/marker.txt"], Listed(index).Keys.Order());
    }

    [Fact]
    public async Task Published_files_and_folders_are_added_and_unpublished_roots_removed()
    {
        var index = await _share.OpenAsync(o => o.Shares = []);
        var single = Path.Combine(_share.Root, "single.iso");
        File.WriteAllBytes(single, new byte[100]);
        _share.Write("a.txt", "a");

        await index.PublishAsync([single, _share.Folder]);
        await TestShare.IdleAsync(index);
        Assert.Equal(["pub/a.txt", "single.iso"], Listed(index).Keys.Order());
        Assert.Equal([_share.Folder, single], index.Roots.Order());

        await index.UnpublishAsync([single]);
        Assert.Equal(["pub/a.txt"], Listed(index).Keys);
        await Assert.ThrowsAsync<ArgumentException>(() => index.UnpublishAsync([Path.Combine(_share.Root, "never-shared")]));
        await Assert.ThrowsAsync<FileNotFoundException>(() => index.PublishAsync([Path.Combine(_share.Root, "missing")]));
    }

    [Fact]
    public async Task Single_files_published_from_one_folder_share_one_watcher_and_follow_changes()
    {
        var files = Enumerable.Range(0, 200).Select(i => _share.Write($"many/f{i:D3}.txt", $"file {i}")).ToList();
        var index = await _share.OpenAsync(o => o.Shares = []);

        await index.PublishAsync(files);
        await TestShare.IdleAsync(index);
        Assert.Equal(200, Listed(index).Count);
        Assert.Equal(1, index.WatcherCount);

        File.WriteAllText(files[7], "changed");
        Assert.True(await Eventually.TrueAsync(() => Listed(index)["f007.txt"].Hash == HashOf(files[7]), Within));

        await index.UnpublishAsync(files.Skip(1));
        Assert.Equal(["f000.txt"], Listed(index).Keys);
        Assert.Equal(1, index.WatcherCount);
        await index.UnpublishAsync([files[0]]);
        Assert.Equal(0, index.WatcherCount);
    }

    [Fact]
    public async Task An_unreadable_file_is_skipped_with_one_warning_and_shared_once_it_can_be_read()
    {
        _share.Write("ok.txt", "fine");
        var locked = _share.Write("locked.txt", "cannot be read while locked");
        var handle = new FileStream(locked, FileMode.Open, FileAccess.Read, FileShare.None);
        ShareIndex index;
        try
        {
            index = await _share.OpenAsync();
            var file = Listed(index)["pub/locked.txt"];
            Assert.Equal(SharedFileState.Unreadable, file.State);
            Assert.NotNull(file.Error);
            Assert.Equal(1, index.Counters.FilesUnreadable);
            Assert.Single(_share.Log.Recent(), e => e.Level == NodeLogLevel.Warning && e.Message.Contains("cannot read"));
            Assert.Empty(index.Search(new FileQuery { Names = ["locked*"] }));
        }
        finally
        {
            handle.Dispose();
        }

        await index.ReconcileAsync();
        await TestShare.IdleAsync(index);
        Assert.Equal(HashOf(locked), Listed(index)["pub/locked.txt"].Hash);
        Assert.Single(index.Search(new FileQuery { Names = ["locked*"] }));
    }

    [Fact]
    public async Task The_periodic_pass_catches_a_change_no_notification_reported()
    {
        var shared = _share.Write("data.bin", "version 1");
        var index = await _share.OpenAsync(o => o.ReconcileInterval = TimeSpan.FromMilliseconds(500));
        var outside = Path.Combine(_share.Root, "hard-link.bin");
        using (var ln = System.Diagnostics.Process.Start("ln", [shared, outside]))
        {
            await ln.WaitForExitAsync();
            Assert.Equal(0, ln.ExitCode);
        }

        var notified = index.Counters.ChangeNotifications;
        File.WriteAllText(outside, "version 2, written through a link the watcher does not see");

        Assert.True(await Eventually.TrueAsync(() => Listed(index)["pub/data.bin"].Hash == HashOf(shared), Within));
        Assert.Equal(notified, index.Counters.ChangeNotifications);
    }

    [Fact]
    public async Task The_state_folder_can_never_be_shared()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _share.OpenAsync(o => o.Shares = [_share.Root]));
        Assert.Contains("state folder", error.Message);

        var index = await _share.OpenAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => index.PublishAsync([_share.State]));
    }

    [Fact]
    public async Task A_damaged_index_file_is_moved_aside_and_rebuilt_from_the_disk()
    {
        _share.Write("a.txt", "a");
        File.WriteAllText(Path.Combine(_share.State, "index.db"), "this is not a database, just text long enough to have a header");

        var index = await _share.OpenAsync();

        Assert.Equal(["pub/a.txt"], Listed(index).Keys);
        Assert.Single(Directory.GetFiles(_share.State, "index.db.damaged-*"));
        Assert.Contains(_share.Log.Recent(), e => e.Level == NodeLogLevel.Warning && e.Message.Contains("could not be read"));
    }
}
