namespace P2PTransfer.Peers;

/// <summary>The dialer's verdict on a link it just made to a node it already has a live link to.</summary>
/// <param name="KeepNew">Both nodes keep the new link and close the old one; else they keep the old one.</param>
/// <param name="AlreadyLinked">The old link was made before the dial began: the dial is refused as a duplicate, whichever link stays.</param>
internal record struct DialVerdict(bool KeepNew, bool AlreadyLinked);
