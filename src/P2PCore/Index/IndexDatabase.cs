using System.Text;
using Microsoft.Data.Sqlite;
using P2PTransfer.Protocol;

namespace P2PTransfer.Index;

/// <summary>
/// The index in SQLite: shared roots, excluded paths, and one row per shared file with its digest. File names are
/// also in an FTS5 trigram index so that wildcard searches with three or more literal characters never scan the
/// table. One connection writes; searches use pooled read connections (WAL lets them run beside the writer).
/// </summary>
internal sealed class IndexDatabase : IDisposable
{
    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE roots(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            is_file INTEGER NOT NULL);
        CREATE TABLE excluded_paths(
            path TEXT PRIMARY KEY);
        CREATE TABLE files(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            root_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            name TEXT NOT NULL,
            name_key TEXT NOT NULL,
            extension TEXT NOT NULL,
            size INTEGER NOT NULL,
            modified INTEGER NOT NULL,
            state INTEGER NOT NULL,
            error TEXT,
            hash BLOB,
            piece_root BLOB,
            pieces BLOB,
            UNIQUE(root_id, path));
        CREATE INDEX files_hash ON files(hash) WHERE hash IS NOT NULL;
        CREATE INDEX files_size ON files(size);
        CREATE INDEX files_extension ON files(extension);
        CREATE INDEX files_pending ON files(state) WHERE state <> 1;
        CREATE VIRTUAL TABLE file_names USING fts5(
            name_key, content='files', content_rowid='id', tokenize='trigram case_sensitive 1', detail='none');
        CREATE TRIGGER files_insert AFTER INSERT ON files BEGIN
            INSERT INTO file_names(rowid, name_key) VALUES (new.id, new.name_key);
        END;
        CREATE TRIGGER files_delete AFTER DELETE ON files BEGIN
            INSERT INTO file_names(file_names, rowid, name_key) VALUES ('delete', old.id, old.name_key);
        END;
        CREATE TRIGGER files_rename AFTER UPDATE OF name_key ON files BEGIN
            INSERT INTO file_names(file_names, rowid, name_key) VALUES ('delete', old.id, old.name_key);
            INSERT INTO file_names(rowid, name_key) VALUES (new.id, new.name_key);
        END;
        """;

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly object _writeGate = new();

    private IndexDatabase(SqliteConnection writer)
    {
        _connectionString = writer.ConnectionString;
        _writer = writer;
    }

    /// <summary>Opens (or creates) the index. A file that is not a readable index is moved aside and a new one started.</summary>
    public static IndexDatabase Open(string path, Action<string> warn)
    {
        try
        {
            return OpenCore(path);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26)
        {
            // SQLITE_CORRUPT / SQLITE_NOTADB: keep the old file for inspection, rebuild from the disk.
            var aside = $"{path}.damaged-{DateTime.UtcNow:yyyyMMddHHmmss}";
            SqliteConnection.ClearAllPools();
            File.Move(path, aside);
            foreach (var suffix in new[] { "-wal", "-shm" })
            {
                File.Delete(path + suffix);
            }

            warn($"the index {path} could not be read ({e.Message}); moved it to {aside} and started a new one");
            return OpenCore(path);
        }
    }

    private static IndexDatabase OpenCore(string path)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        var writer = new SqliteConnection(connectionString);
        try
        {
            writer.Open();
            Execute(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
            var version = Convert.ToInt32(Scalar(writer, "PRAGMA user_version"));
            if (version > SchemaVersion)
            {
                throw new InvalidDataException($"the index {path} was written by a newer version (schema {version}); this version reads schema {SchemaVersion}");
            }

            if (version == 0)
            {
                using var transaction = writer.BeginTransaction();
                Execute(writer, Schema + $"PRAGMA user_version={SchemaVersion};", transaction);
                transaction.Commit();
            }

            return new IndexDatabase(writer);
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

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

    // ---- queries ----

    public IndexProgress GetProgress() =>
        ReadAll(
            "SELECT count(*), total(size), count(*) FILTER (WHERE state = 0), total(size) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 2) FROM files",
            null,
            r => new IndexProgress(r.GetInt64(0), (long)r.GetDouble(1), r.GetInt64(2), (long)r.GetDouble(3), r.GetInt64(4)))[0];

    private const string Columns = "f.id, f.root_id, f.path, f.name, f.size, f.modified, f.hash, f.state, f.error";
    private const int PageSize = 256;

    /// <summary>Every row, optionally only names matching a wildcard; for Get-P2PShare.</summary>
    public IEnumerable<IndexedFile> ListFiles(Wildcard? name, CancellationToken cancellationToken)
    {
        var sql = $"SELECT {Columns} FROM files f WHERE 1 = 1";
        var parameters = new List<(string, object)>();
        if (name is { MatchesEverything: false })
        {
            sql += " AND f.name_key GLOB $name";
            parameters.Add(("$name", name.ToGlob()));
        }

        return Query(sql, "f.id", parameters, int.MaxValue, null, cancellationToken);
    }

    /// <summary>
    /// Files that are hashed and match every criterion of the query, at most <paramref name="limit"/>. Rows are read
    /// in pages and reading stops at the limit, so a broad query costs only the rows it returns. Several names are
    /// searched one after the other (a file matching two of them is returned once), each driven by the trigram
    /// index when it has a literal run long enough to use it.
    /// </summary>
    public IEnumerable<IndexedFile> Search(CompiledQuery query, int limit, CancellationToken cancellationToken)
    {
        var filters = new StringBuilder(" AND f.state = 1");
        var parameters = new List<(string, object)>();
        if (query.Extensions.Count > 0)
        {
            // With an exact hash, the unary + keeps SQLite from preferring the extension index over the hash index.
            filters.Append(query.Hash is null ? " AND f.extension IN (" : " AND +f.extension IN (").AppendJoin(", ", query.Extensions.Select((_, i) => $"$e{i}")).Append(')');
            parameters.AddRange(query.Extensions.Select((e, i) => ($"$e{i}", (object)e)));
        }

        var size = query.Hash is null ? "f.size" : "+f.size";
        if (query.MinSize is { } min)
        {
            filters.Append($" AND {size} >= $min");
            parameters.Add(("$min", min));
        }

        if (query.MaxSize is { } max)
        {
            filters.Append($" AND {size} <= $max");
            parameters.Add(("$max", max));
        }

        if (query.Hash is { } hash)
        {
            filters.Append(" AND f.hash = $hash");
            parameters.Add(("$hash", hash));
        }

        if (query.Names.Count == 0)
        {
            return Query($"SELECT {Columns} FROM files f WHERE 1 = 1{filters}", "f.id", parameters, limit, query, cancellationToken);
        }

        return query.Names.Count == 1
            ? SearchName(query.Names[0], query.Hash is not null, filters.ToString(), parameters, limit, query, cancellationToken)
            : SearchNames(query, filters.ToString(), parameters, limit, cancellationToken);
    }

    private IEnumerable<IndexedFile> SearchNames(CompiledQuery query, string filters, List<(string, object)> parameters, int limit, CancellationToken cancellationToken)
    {
        var seen = new HashSet<long>();
        foreach (var name in query.Names)
        {
            foreach (var file in SearchName(name, query.Hash is not null, filters, parameters, int.MaxValue, query, cancellationToken))
            {
                if (seen.Add(file.Id))
                {
                    yield return file;
                    if (seen.Count == limit)
                    {
                        yield break;
                    }
                }
            }
        }
    }

    private IEnumerable<IndexedFile> SearchName(Wildcard name, bool byHash, string filters, List<(string, object)> parameters, int limit, CompiledQuery query, CancellationToken cancellationToken)
    {
        // The trigram index narrows a GLOB only with three literal characters in a row; CROSS JOIN makes it drive
        // the join, so rows stream out as the index finds them. Without such a run, or when the exact hash narrows
        // the search better, the table (or its hash index) is read directly.
        var (sql, key) = name.LongestLiteralRun() >= 3 && !byHash
            ? ($"SELECT {Columns} FROM file_names n CROSS JOIN files f ON f.id = n.rowid WHERE n.name_key GLOB $name AND f.name_key GLOB $name{filters}", "n.rowid")
            : ($"SELECT {Columns} FROM files f WHERE f.name_key GLOB $name{filters}", "f.id");
        return Query(sql, key, [.. parameters, ("$name", name.ToGlob())], limit, query, cancellationToken);
    }

    /// <summary>The stored digest of a hashed file, for transfers.</summary>
    public (IndexedFile File, FileDigest Digest)? FindByHash(byte[] sha256) =>
        ReadAll(
            $"SELECT {Columns}, f.pieces FROM files f WHERE f.hash = $hash AND f.state = 1 LIMIT 1",
            command => command.Parameters.AddWithValue("$hash", sha256),
            r =>
            {
                var file = ReadFile(r);
                return ((IndexedFile File, FileDigest Digest)?)(file, FileDigest.FromStored(file.Size, sha256, r.IsDBNull(9) ? null : (byte[])r[9]));
            })
        .SingleOrDefault();

    /// <summary>
    /// Runs a query page by page (keyset on <paramref name="key"/>, the row id), each page a short read of its own.
    /// Callers may take their time with each result (a download per search hit) without holding a read transaction
    /// open, which would stop SQLite from folding its write-ahead log back while hashing goes on.
    /// </summary>
    private IEnumerable<IndexedFile> Query(string sql, string key, List<(string Name, object Value)> parameters, int limit, CompiledQuery? filter, CancellationToken cancellationToken)
    {
        var paged = $"{sql} AND {key} > $after ORDER BY {key} LIMIT $page";
        long after = 0;
        var returned = 0;
        while (returned < limit)
        {
            var pageSize = filter?.Pattern is null ? Math.Min(PageSize, limit - returned) : PageSize;
            var page = ReadPage(paged, parameters, after, pageSize, cancellationToken);
            foreach (var file in page)
            {
                after = file.Id;
                if (filter?.PatternMatches(file.Name) != false)
                {
                    returned++;
                    yield return file;
                    if (returned == limit)
                    {
                        yield break;
                    }
                }
            }

            if (page.Count < pageSize)
            {
                yield break;
            }
        }
    }

    private List<IndexedFile> ReadPage(string sql, List<(string Name, object Value)> parameters, long after, int pageSize, CancellationToken cancellationToken) =>
        ReadAll(
            sql,
            command =>
            {
                foreach (var (name, value) in parameters)
                {
                    command.Parameters.AddWithValue(name, value);
                }

                command.Parameters.AddWithValue("$after", after);
                command.Parameters.AddWithValue("$page", pageSize);
            },
            ReadFile,
            cancellationToken);

    /// <summary>Runs one query on a read connection of its own and maps every row; the connection goes back to the pool at once.</summary>
    private List<T> ReadAll<T>(string sql, Action<SqliteCommand>? bind, Func<SqliteDataReader, T> map, CancellationToken cancellationToken = default)
    {
        using var read = OpenReader();
        using var command = Command(read, sql);
        bind?.Invoke(command);
        using var registration = cancellationToken.Register(command.Cancel);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            rows.Add(map(reader));
        }

        return rows;
    }

    private static IndexedFile ReadFile(SqliteDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetInt64(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetInt64(4),
        reader.GetInt64(5),
        reader.IsDBNull(6) ? null : (byte[])reader[6],
        (SharedFileState)reader.GetInt64(7),
        reader.IsDBNull(8) ? null : reader.GetString(8));

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

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

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = Command(connection, sql, transaction);
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, sql);
        return command.ExecuteScalar();
    }
}
