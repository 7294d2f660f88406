using System.Text;
using Microsoft.Data.Sqlite;
using P2PTransfer.Protocol;

namespace P2PTransfer.Index;

/// <summary>
/// The reads behind progress, Get-P2PShare, searches and transfers, each on a pooled read connection of its own
/// (WAL lets them run beside the writer). File names are also in an FTS5 trigram index, so wildcard searches with
/// three or more literal characters never scan the table.
/// </summary>
internal sealed class IndexQueries(string connectionString)
{
    /// <summary>Files and bytes of every row, and how many of them wait for hashing or could not be read.</summary>
    public IndexProgress GetProgress() =>
        ReadAll(
            "SELECT count(*), total(size), count(*) FILTER (WHERE state = 0), total(size) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 2) FROM files",
            null,
            r => new IndexProgress(r.GetInt64(0), (long)r.GetDouble(1), r.GetInt64(2), (long)r.GetDouble(3), r.GetInt64(4)))[0];

    private const string Columns = "f.id, f.root_id, f.path, f.name, f.size, f.modified, f.hash, f.state, f.error";
    private const int PageSize = 256;

    // The SQL function that tests a row's (root id, stored path) against the query's path wildcards.
    private const string PathMatchFunction = "p2p_path_matches";

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
    /// index when it has a literal run long enough to use it. Paths are matched on the relative path other nodes
    /// see (<paramref name="roots"/> give its first segment): only the shared folders whose name fits the path's
    /// first segment are read, and SQLite tests each of their stored paths with the path wildcards.
    /// </summary>
    public IEnumerable<IndexedFile> Search(CompiledQuery query, IReadOnlyDictionary<long, ShareRoot> roots, int limit, CancellationToken cancellationToken)
    {
        var filters = new StringBuilder(" AND f.state = 1");
        var parameters = new List<(string, object)>();
        Func<long, string, bool>? pathMatch = null;
        if (query.Paths.Count > 0)
        {
            var candidates = roots.Values.Where(r => query.Paths.Any(p => p.MayMatchBelow(r.Leaf))).ToDictionary(r => r.Id);
            if (candidates.Count == 0)
            {
                return [];
            }

            filters.Append(" AND f.root_id IN (").AppendJoin(", ", candidates.Keys.Select((_, i) => $"$r{i}")).Append(')');
            parameters.AddRange(candidates.Keys.Select((id, i) => ($"$r{i}", (object)id)));
            filters.Append($" AND {PathMatchFunction}(f.root_id, f.path)");
            pathMatch = (rootId, path) => candidates.TryGetValue(rootId, out var root) && query.PathMatches(root.PublicPath(path));
        }

        var filter = new RowFilter(query, pathMatch);
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
            return Query($"SELECT {Columns} FROM files f WHERE 1 = 1{filters}", "f.id", parameters, limit, filter, cancellationToken);
        }

        return query.Names.Count == 1
            ? SearchName(query.Names[0], query.Hash is not null, filters.ToString(), parameters, limit, filter, cancellationToken)
            : SearchNames(filter, filters.ToString(), parameters, limit, cancellationToken);
    }

    private IEnumerable<IndexedFile> SearchNames(RowFilter filter, string filters, List<(string, object)> parameters, int limit, CancellationToken cancellationToken)
    {
        var seen = new HashSet<long>();
        var query = filter.Query;
        foreach (var name in query.Names)
        {
            foreach (var file in SearchName(name, query.Hash is not null, filters, parameters, int.MaxValue, filter, cancellationToken))
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

    private IEnumerable<IndexedFile> SearchName(Wildcard name, bool byHash, string filters, List<(string, object)> parameters, int limit, RowFilter filter, CancellationToken cancellationToken)
    {
        // The trigram index narrows a GLOB only with three literal characters in a row; CROSS JOIN makes it drive
        // the join, so rows stream out as the index finds them. Without such a run, or when the exact hash narrows
        // the search better, the table (or its hash index) is read directly.
        var (sql, key) = name.LongestLiteralRun() >= 3 && !byHash
            ? ($"SELECT {Columns} FROM file_names n CROSS JOIN files f ON f.id = n.rowid WHERE n.name_key GLOB $name AND f.name_key GLOB $name{filters}", "n.rowid")
            : ($"SELECT {Columns} FROM files f WHERE f.name_key GLOB $name{filters}", "f.id");
        return Query(sql, key, [.. parameters, ("$name", name.ToGlob())], limit, filter, cancellationToken);
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
    private IEnumerable<IndexedFile> Query(string sql, string key, List<(string Name, object Value)> parameters, int limit, RowFilter? filter, CancellationToken cancellationToken)
    {
        var paged = $"{sql} AND {key} > $after ORDER BY {key} LIMIT $page";
        long after = 0;
        var returned = 0;
        while (returned < limit)
        {
            var pageSize = filter?.Query.Pattern is null ? Math.Min(PageSize, limit - returned) : PageSize;
            var page = ReadPage(paged, parameters, after, pageSize, filter?.PathMatch, cancellationToken);
            foreach (var file in page)
            {
                after = file.Id;
                if (filter?.Query.PatternMatches(file.Name) != false)
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

    private List<IndexedFile> ReadPage(string sql, List<(string Name, object Value)> parameters, long after, int pageSize, Func<long, string, bool>? pathMatch, CancellationToken cancellationToken) =>
        ReadAll(
            sql,
            command =>
            {
                if (pathMatch is not null)
                {
                    // Functions belong to the connection: registered again on each read, for this query's wildcards.
                    command.Connection!.CreateFunction(PathMatchFunction, pathMatch, isDeterministic: true);
                }

                foreach (var (name, value) in parameters)
                {
                    command.Parameters.AddWithValue(name, value);
                }

                command.Parameters.AddWithValue("$after", after);
                command.Parameters.AddWithValue("$page", pageSize);
            },
            ReadFile,
            cancellationToken);


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

    /// <summary>The extensions of hashed files, the most common first, at most <paramref name="limit"/>: for tab completion.</summary>
    public IReadOnlyList<string> SharedExtensions(int limit) =>
        ReadAll(
            "SELECT extension FROM files WHERE hash IS NOT NULL AND extension <> '' GROUP BY extension ORDER BY count(*) DESC, extension LIMIT $limit",
            c => c.Parameters.AddWithValue("$limit", limit),
            r => r.GetString(0));

    private List<T> ReadAll<T>(string sql, Action<SqliteCommand>? bind, Func<SqliteDataReader, T> map, CancellationToken cancellationToken = default) =>
        IndexSql.ReadAll(connectionString, sql, bind, map, cancellationToken);

    /// <summary>What a search tests beyond SQL's own operators: the pattern (in memory) and the paths (an SQL function).</summary>
    private sealed record RowFilter(CompiledQuery Query, Func<long, string, bool>? PathMatch);
}
