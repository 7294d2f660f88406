using System.Diagnostics;
using P2PTransfer.Client;

namespace P2PTransfer.Bench;

/// <summary>Whether the node under test serves a user: a new connection, a Ping, and a search that finds every file.</summary>
internal static class NodeCheck
{
    /// <summary>
    /// Waits (at most 120 s) until a new client gets in and a search finds every file again: queues the attack filled
    /// have drained, and the next attack starts on a node that serves its users.
    /// </summary>
    public static async Task<string> RecoverAsync(string node, Dictionary<string, string> expected)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        // One attempt every 2 s: 30 connections a minute, within a node's connection rate per address.
        for (int attempt = 1; attempt <= 60 && clock.Elapsed < TimeSpan.FromSeconds(120); attempt++)
        {
            try
            {
                await using var client = await NodeClient.ConnectAsync(node, TimeSpan.FromSeconds(2));
                await client.PingAsync(TimeSpan.FromSeconds(2));
                var found = new Dictionary<string, string>();
                await foreach (var r in client.SearchAsync(new P2PTransfer.Protocol.FileQuery { Names = ["doc-00*"] }, new P2PTransfer.Search.SearchOptions { Ttl = 0, Timeout = TimeSpan.FromSeconds(2) }))
                {
                    found[r.Name] = r.Hash;
                }

                if (found.Count == expected.Count && expected.All(e => found.TryGetValue(e.Key, out var h) && h == e.Value))
                {
                    return $"a new client was answered and found every file after {clock.Elapsed.TotalSeconds:0.0} s";
                }

                last = $"{found.Count} of {expected.Count} files found";
            }
            catch (Exception ex)
            {
                last = ex.Message;
            }

            await Task.Delay(2000);
        }

        return $"NOT RECOVERED within 120 s: {last}";
    }
}
