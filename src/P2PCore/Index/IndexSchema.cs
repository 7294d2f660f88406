using Microsoft.Data.Sqlite;

namespace P2PTransfer.Index;

/// <summary>
/// The index's tables and their version (SQLite's user_version): a new file gets the tables, a file written by a
/// newer version is refused, and a file that is not a readable index is kept aside while a new one is started.
/// </summary>
internal static class IndexSchema
{
    private const int Version = 1;

    private const string Tables = """
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

    /// <summary>Opens the writing connection to the index at <paramref name="path"/>, creating the tables in a new file. A file that is not a readable index is moved aside and a new one started.</summary>
    public static SqliteConnection OpenWriter(string path, Action<string> warn)
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

    private static SqliteConnection OpenCore(string path)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        var writer = new SqliteConnection(connectionString);
        try
        {
            writer.Open();
            IndexSql.Execute(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
            var version = Convert.ToInt32(IndexSql.Scalar(writer, "PRAGMA user_version"));
            if (version > Version)
            {
                throw new InvalidDataException($"the index {path} was written by a newer version (schema {version}); this version reads schema {Version}");
            }

            if (version == 0)
            {
                using var transaction = writer.BeginTransaction();
                IndexSql.Execute(writer, Tables + $"PRAGMA user_version={Version};", transaction);
                transaction.Commit();
            }

            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }
}
