namespace P2PTransfer.Index;

/// <summary>The file changed while it was being hashed; the next reconcile hashes it again.</summary>
internal sealed class FileChangedException(string message) : IOException(message);
