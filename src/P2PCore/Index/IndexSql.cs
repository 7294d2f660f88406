using Microsoft.Data.Sqlite;

namespace P2PTransfer.Index;

/// <summary>The few ADO.NET steps every part of the index database repeats.</summary>
internal static class IndexSql
{
    public static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = Command(connection, sql, transaction);
        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, sql);
        return command.ExecuteScalar();
    }

    /// <summary>Runs one query on a read connection of its own and maps every row; the connection goes back to the pool at once.</summary>
    public static List<T> ReadAll<T>(string connectionString, string sql, Action<SqliteCommand>? bind, Func<SqliteDataReader, T> map, CancellationToken cancellationToken = default)
    {
        using var read = new SqliteConnection(connectionString);
        read.Open();
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
}
