namespace P2PTransfer.Search;

/// <summary>What the request cache says about a request that arrives.</summary>
internal enum RequestAdmission
{
    /// <summary>First time here: process it and cascade it.</summary>
    New,
    /// <summary>Seen already with as much time to live: drop it.</summary>
    Duplicate,
    /// <summary>Seen already, but this copy may travel further (it came a shorter way): cascade it again, do not process it again.</summary>
    Widened,
}
