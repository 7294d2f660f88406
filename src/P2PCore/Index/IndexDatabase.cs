using Microsoft.Data.Sqlite;
using P2PTransfer.Protocol;
using static P2PTransfer.Index.IndexSql;

namespace P2PTransfer.Index;

/// <summary>
/// The index in SQLite: shared roots, excluded paths, and one row per shared file with its digest. One connection
/// writes (roots, reconcile changes, hashing results, here); reads use pooled connections of their own
/// (<see cref="IndexQueries"/>); the tables are made by <see cref="IndexSchema"/>.
/// </summary>
internal sealed class IndexDatabase : IDisposable
{
    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly object _writeGate = new();
    private readonly IndexQueries _queries;

    private IndexDatabase(SqliteConnection writer)
    {
        _connectionString = writer.ConnectionString;
        _writer = writer;
        _queries = new IndexQueries(_connectionString);
    }

    /// <summary>Opens (or creates) the index. A file that is not a readable index is moved aside and a new one started.</summary>
    public static IndexDatabase Open(string path, Action<string> warn) => new(IndexSchema.OpenWriter(path, warn));

    public void Dispose()
    {
        lock (_writeGate)
        {
            _writer.Dispose();
        }

        // Pooled read connections would keep the file open (and locked on Windows) after the node stops.
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }

    // ---- roots and excluded paths ----

    public List<ShareRoot> LoadRoots() =>
        ReadAll("SELECT id, path, is_file FROM roots ORDER BY id", null, r => new ShareRoot(r.GetInt64(0), r.GetString(1), r.GetInt64(2) != 0));

    public ShareRoot AddRoot(string fullPath, bool isFile) => Write(transaction =>
    {
        using var command = Command(_writer, "INSERT INTO roots(path, is_file) VALUES ($path, $file) RETURNING id", transaction);
        command.Parameters.AddWithValue("$path", fullPath);
        command.Parameters.AddWithValue("$file", isFile ? 1 : 0);
        return new ShareRoot(Convert.ToInt64(command.ExecuteScalar()), fullPath, isFile);
    });

    /// <summary>Stops sharing a root: its row and every file row below it go.</summary>
    public void RemoveRoot(long rootId) => Write(transaction =>
    {
        using var files = Command(_writer, "DELETE FROM files WHERE root_id = $root", transaction);
        files.Parameters.AddWithValue("$root", rootId);
        files.ExecuteNonQuery();
        using var root = Command(_writer, "DELETE FROM roots WHERE id = $root", transaction);
        root.Parameters.AddWithValue("$root", rootId);
        root.ExecuteNonQuery();
        return 0;
    });

    /// <summary>Moves a root's file rows below a shared folder that holds it, keeping their hashes, and drops the root.</summary>
    public void MergeRoot(ShareRoot inner, ShareRoot outer) => Write(transaction =>
    {
        var prefix = outer.StoredPath(inner.FullPath) ?? throw new ArgumentException($"'{inner.FullPath}' is not inside '{outer.FullPath}'");
        using var move = Command(
            _writer,
            inner.IsFile
                ? "UPDATE files SET root_id = $to, path = $prefix WHERE root_id = $from"
                : "UPDATE files SET root_id = $to, path = $prefix || '/' || path WHERE root_id = $from",
            transaction);
        move.Parameters.AddWithValue("$to", outer.Id);
        move.Parameters.AddWithValue("$from", inner.Id);
        move.Parameters.AddWithValue("$prefix", prefix);
        move.ExecuteNonQuery();
        using var root = Command(_writer, "DELETE FROM roots WHERE id = $from", transaction);
        root.Parameters.AddWithValue("$from", inner.Id);
        root.ExecuteNonQuery();
        return 0;
    });

    public List<string> LoadExcludedPaths() => ReadAll("SELECT path FROM excluded_paths", null, r => r.GetString(0));

    public void SetExcluded(string fullPath, bool excluded) => Write(transaction =>
    {
        using var command = Command(
            _writer,
            excluded ? "INSERT OR IGNORE INTO excluded_paths(path) VALUES ($path)" : "DELETE FROM excluded_paths WHERE path = $path",
            transaction);
        command.Parameters.AddWithValue("$path", fullPath);
        return command.ExecuteNonQuery();
    });

    // ---- reconcile ----

    // The rows of a root below a scope (a stored path; empty = the whole root). '0' is the character after '/': the
    // range holds exactly the paths below the scope folder.
    private const string InScope = "root_id = $root AND ($scope = '' OR path = $scope OR (path >= $scope || '/' AND path < $scope || '0'))";

    /// <summary>The rows of a root, or of one file or folder below it (scope = its stored path; empty = the whole root).</summary>
    public Dictionary<string, StoredFile> LoadFiles(long rootId, string scope) =>
        ReadAll(
            $"SELECT path, id, size, modified, state FROM files WHERE {InScope}",
            command => BindScope(command, rootId, scope),
            r => (Path: r.GetString(0), File: new StoredFile(r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), (SharedFileState)r.GetInt64(4))))
        .ToDictionary(row => row.Path, row => row.File, StringComparer.Ordinal);

    /// <summary>Rows waiting for hashing with an id above <paramref name="afterId"/>, in id order.</summary>
    public List<PendingFile> LoadPending(long afterId, int count) =>
        ReadAll(
            "SELECT id, root_id, path, size, modified, error FROM files WHERE state = 0 AND id > $after ORDER BY id LIMIT $count",
            command =>
            {
                command.Parameters.AddWithValue("$after", afterId);
                command.Parameters.AddWithValue("$count", count);
            },
            r => new PendingFile(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.IsDBNull(5) ? null : r.GetString(5)));

    /// <summary>How many rows of a root (below a scope, as in <see cref="LoadFiles"/>) still wait for hashing.</summary>
    public long CountPending(long rootId, string scope) =>
        ReadAll($"SELECT count(*) FROM files WHERE state = 0 AND {InScope}", command => BindScope(command, rootId, scope), r => r.GetInt64(0))[0];

    private static void BindScope(SqliteCommand command, long rootId, string scope)
    {
        command.Parameters.AddWithValue("$root", rootId);
        command.Parameters.AddWithValue("$scope", scope);
    }

    /// <summary>
    /// Applies one batch of reconcile changes in one transaction: new files are inserted and changed files reset,
    /// both waiting for hashing; unreadable files wait for another try (keeping their error, so the warning is not
    /// repeated); vanished files are deleted.
    /// </summary>
    public void ApplyChanges(long rootId, IReadOnlyList<DiskFile> added, IReadOnlyList<(long Id, DiskFile File)> changed, IReadOnlyList<long> retry, IReadOnlyList<long> removed) =>
        Write(transaction =>
        {
            if (added.Count > 0)
            {
                using var insert = Command(
                    _writer,
                    "INSERT INTO files(root_id, path, name, name_key, extension, size, modified, state) VALUES ($root, $path, $name, $key, $ext, $size, $modified, 0)",
                    transaction);
                var root = insert.Parameters.AddWithValue("$root", rootId);
                var path = insert.Parameters.Add("$path", SqliteType.Text);
                var name = insert.Parameters.Add("$name", SqliteType.Text);
                var key = insert.Parameters.Add("$key", SqliteType.Text);
                var ext = insert.Parameters.Add("$ext", SqliteType.Text);
                var size = insert.Parameters.Add("$size", SqliteType.Integer);
                var modified = insert.Parameters.Add("$modified", SqliteType.Integer);
                foreach (var file in added)
                {
                    var fileName = Path.GetFileName(file.FullPath);
                    path.Value = file.StoredPath;
                    name.Value = fileName;
                    key.Value = Wildcard.Fold(fileName);
                    ext.Value = FileQuery.ExtensionOf(fileName);
                    size.Value = file.Size;
                    modified.Value = file.Modified;
                    insert.ExecuteNonQuery();
                }
            }

            if (changed.Count > 0)
            {
                using var update = Command(
                    _writer,
                    "UPDATE files SET size = $size, modified = $modified, state = 0, error = NULL, hash = NULL, piece_root = NULL, pieces = NULL WHERE id = $id",
                    transaction);
                var id = update.Parameters.Add("$id", SqliteType.Integer);
                var size = update.Parameters.Add("$size", SqliteType.Integer);
                var modified = update.Parameters.Add("$modified", SqliteType.Integer);
                foreach (var (rowId, file) in changed)
                {
                    id.Value = rowId;
                    size.Value = file.Size;
                    modified.Value = file.Modified;
                    update.ExecuteNonQuery();
                }
            }

            ExecuteForEach("UPDATE files SET state = 0 WHERE id = $id AND state = 2", retry, transaction);
            ExecuteForEach("DELETE FROM files WHERE id = $id", removed, transaction);
            return 0;
        });

    /// <summary>Runs one statement with <c>$id</c> bound to each id in turn, inside the caller's transaction.</summary>
    private void ExecuteForEach(string sql, IReadOnlyList<long> ids, SqliteTransaction transaction)
    {
        if (ids.Count == 0)
        {
            return;
        }

        using var command = Command(_writer, sql, transaction);
        var id = command.Parameters.Add("$id", SqliteType.Integer);
        foreach (var rowId in ids)
        {
            id.Value = rowId;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Stores hashing outcomes and returns the ids of the rows updated. A row is only updated if it still describes
    /// the file that was hashed (same size and last-write time), so a file that changed meanwhile stays pending.
    /// </summary>
    public HashSet<long> StoreResults(IReadOnlyList<HashOutcome> outcomes) => Write(transaction =>
    {
        using var ready = Command(
            _writer,
            "UPDATE files SET state = 1, error = NULL, hash = $hash, piece_root = $root, pieces = $pieces WHERE id = $id AND size = $size AND modified = $modified",
            transaction);
        using var failed = Command(
            _writer,
            "UPDATE files SET state = 2, error = $error WHERE id = $id AND size = $size AND modified = $modified",
            transaction);
        var stored = new HashSet<long>();
        foreach (var outcome in outcomes)
        {
            var command = outcome.Digest is null ? failed : ready;
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$id", outcome.Id);
            command.Parameters.AddWithValue("$size", outcome.Size);
            command.Parameters.AddWithValue("$modified", outcome.Modified);
            if (outcome.Digest is { } digest)
            {
                command.Parameters.AddWithValue("$hash", digest.Sha256);
                command.Parameters.AddWithValue("$root", digest.PieceRoot);
                command.Parameters.AddWithValue("$pieces", (object?)digest.StoredPieces ?? DBNull.Value);
            }
            else
            {
                command.Parameters.AddWithValue("$error", outcome.Error ?? "unreadable");
            }

            if (command.ExecuteNonQuery() > 0)
            {
                stored.Add(outcome.Id);
            }
        }

        return stored;
    });

    // ---- reads ----

    public IndexProgress GetProgress() => _queries.GetProgress();

    /// <inheritdoc cref="IndexQueries.ListFiles"/>
    public IEnumerable<IndexedFile> ListFiles(Wildcard? name, CancellationToken cancellationToken) => _queries.ListFiles(name, cancellationToken);

    /// <inheritdoc cref="IndexQueries.Search"/>
    public IEnumerable<IndexedFile> Search(CompiledQuery query, IReadOnlyDictionary<long, ShareRoot> roots, int limit, CancellationToken cancellationToken) => _queries.Search(query, roots, limit, cancellationToken);

    /// <inheritdoc cref="IndexQueries.SharedExtensions"/>
    public IReadOnlyList<string> SharedExtensions(int limit) => _queries.SharedExtensions(limit);

    /// <inheritdoc cref="IndexQueries.FindByHash"/>
    public (IndexedFile File, FileDigest Digest)? FindByHash(byte[] sha256) => _queries.FindByHash(sha256);

    private List<T> ReadAll<T>(string sql, Action<SqliteCommand>? bind, Func<SqliteDataReader, T> map) =>
        IndexSql.ReadAll(_connectionString, sql, bind, map);

    private T Write<T>(Func<SqliteTransaction, T> work)
    {
        lock (_writeGate)
        {
            using var transaction = _writer.BeginTransaction();
            var result = work(transaction);
            transaction.Commit();
            return result;
        }
    }
}
