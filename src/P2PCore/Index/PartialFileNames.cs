namespace P2PTransfer.Index;

/// <summary>
/// The names of a download in progress beside its destination: its data (<c>NAME.p2ppart</c>) and its record of
/// verified pieces (<c>NAME.p2ppart.pieces</c>). Downloads write them (<c>Transfer.PartialFile</c>); an index never
/// shares them, only the finished file once it has its name. Kept here, the lower of the two layers, so both read
/// one rule.
/// </summary>
internal static class PartialFileNames
{
    public const string DataSuffix = ".p2ppart";
    public const string RecordSuffix = ".p2ppart.pieces";

    /// <summary>True for the name of a partial file or its record, in any case.</summary>
    public static bool IsPartialName(string name) =>
        name.EndsWith(DataSuffix, StringComparison.OrdinalIgnoreCase) || name.EndsWith(RecordSuffix, StringComparison.OrdinalIgnoreCase);
}
