using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using P2PTransfer.Identity;
using P2PTransfer.Protocol;

namespace P2PTransfer.Net;

/// <summary>
/// TLS 1.3 over any transport connection (TCP today; reverse and relayed connections alike): both sides present
/// the self-signed certificate of their node key, and the remote's node id is the id of the key its certificate
/// holds (<see cref="NodeKey.IdOf"/>). Certificates carry no other trust: chains, names and dates are not judged.
/// </summary>
internal sealed class TlsConnection : ITransportConnection
{
    /// <summary>The first byte of a TLS handshake record: how a server tells a TLS dialer from a plaintext one.</summary>
    public const byte HandshakeRecordType = 0x16;

    private readonly ITransportConnection _inner;
    private readonly RecordBatchingStream _records;
    private readonly SslStream _ssl;

    private TlsConnection(ITransportConnection inner, RecordBatchingStream records, SslStream ssl, NodeCredentials local, byte[] remotePublicKey)
    {
        _inner = inner;
        _records = records;
        _ssl = ssl;
        // The handshake is done: records written from here on leave at each flush, several at a time.
        records.BatchWrites = true;
        Local = local;
        RemotePublicKey = remotePublicKey;
        RemoteId = NodeKey.IdOf(remotePublicKey);
    }

    /// <summary>This side's credentials.</summary>
    public NodeCredentials Local { get; }

    /// <summary>The remote's public key (DER SubjectPublicKeyInfo), as its certificate holds it.</summary>
    public byte[] RemotePublicKey { get; }

    /// <summary>The remote's node id, proven by TLS: the id of <see cref="RemotePublicKey"/>.</summary>
    public Guid RemoteId { get; }

    public Stream Stream => _ssl;

    public string RemoteAddress => _inner.RemoteAddress;

    /// <summary>The TLS version in use: always 1.3.</summary>
    public System.Security.Authentication.SslProtocols Protocol => _ssl.SslProtocol;

    /// <summary>The cipher suite in use, for logs and tests.</summary>
    public TlsCipherSuite CipherSuite => _ssl.NegotiatedCipherSuite;

    /// <summary>
    /// The TLS client's side over <paramref name="inner"/> (owned from here on: disposed when this fails).
    /// <paramref name="address"/> names the remote in errors.
    /// </summary>
    public static async Task<TlsConnection> ConnectAsync(ITransportConnection inner, NodeCredentials local, string address, CancellationToken cancellationToken)
    {
        var stream = new LeadingBytesStream(inner.Stream);
        var records = new RecordBatchingStream(stream);
        var ssl = new SslStream(records, leaveInnerStreamOpen: true);
        byte[]? remoteKey = null;
        var options = new SslClientAuthenticationOptions
        {
            // No server name: nothing about the remote is sent in the clear.
            TargetHost = string.Empty,
            ClientCertificateContext = local.CertificateContext,
            EnabledSslProtocols = SslProtocols.Tls13,
            AllowRenegotiation = false,
            CipherSuitesPolicy = PreferredCipherSuites,
            CertificateChainPolicy = NoChainTrust(),
            RemoteCertificateValidationCallback = (_, certificate, _, _) => (remoteKey = PublicKeyOf(certificate)) is not null,
        };
        try
        {
            await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
            return new TlsConnection(inner, records, ssl, local, remoteKey ?? throw new AuthenticationException("the server presented no certificate"));
        }
        catch (Exception ex)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            inner.Dispose();
            if (ex is OperationCanceledException)
            {
                throw;
            }

            throw WhyNotTls(address, stream.FirstBytes, ex);
        }
    }

    /// <summary>
    /// The TLS server's side over <paramref name="inner"/>, read through <paramref name="stream"/> (which may hold
    /// a byte peeked at). Owns <paramref name="inner"/> from here on: disposed when this fails. The client must
    /// present a certificate.
    /// </summary>
    public static async Task<TlsConnection> AcceptAsync(ITransportConnection inner, Stream stream, NodeCredentials local, CancellationToken cancellationToken)
    {
        var records = new RecordBatchingStream(stream);
        var ssl = new SslStream(records, leaveInnerStreamOpen: true);
        byte[]? remoteKey = null;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = local.CertificateContext,
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls13,
            AllowRenegotiation = false,
            CipherSuitesPolicy = PreferredCipherSuites,
            CertificateChainPolicy = NoChainTrust(),
            RemoteCertificateValidationCallback = (_, certificate, _, _) => (remoteKey = PublicKeyOf(certificate)) is not null,
        };
        try
        {
            await ssl.AuthenticateAsServerAsync(options, cancellationToken).ConfigureAwait(false);
            return new TlsConnection(inner, records, ssl, local, remoteKey ?? throw new AuthenticationException("the client presented no certificate"));
        }
        catch (Exception ex)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            inner.Dispose();
            if (ex is OperationCanceledException)
            {
                throw;
            }

            throw new P2PException(ProtocolError.ConnectionLost, $"TLS handshake with {inner.RemoteAddress} failed: {ex.Message}", ex);
        }
    }

    /// <summary>Sends TLS close_notify, then ends the transport's sending: the remote reads everything, then the end of the stream.</summary>
    public async ValueTask ShutdownSendAsync()
    {
        try
        {
            await _ssl.ShutdownAsync().ConfigureAwait(false);
            // close_notify may wait in the batch of records.
            await _records.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (IOException or ObjectDisposedException))
        {
            // TLS reports a connection already broken in its own exception types.
            throw new IOException($"TLS close with {RemoteAddress} failed: {ex.Message}", ex);
        }

        await _inner.ShutdownSendAsync().ConfigureAwait(false);
    }

    public void Abort() => _inner.Abort();

    public void Dispose()
    {
        _inner.Dispose();
        _ssl.Dispose();
    }

    /// <summary>
    /// The public key of a peer's certificate, if it is one a node can have: ECDSA on P-256 (the key node ids and
    /// signatures use). Null refuses the certificate, and with it the TLS handshake.
    /// </summary>
    private static byte[]? PublicKeyOf(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return null;
        }

        using var owned = certificate as X509Certificate2 is null ? new X509Certificate2(certificate) : null;
        var full = owned ?? (X509Certificate2)certificate;
        using var key = full.GetECDsaPublicKey();
        if (key is null || !Identity.NodeKey.IsP256(key))
        {
            return null;
        }

        return full.PublicKey.ExportSubjectPublicKeyInfo();
    }

    /// <summary>
    /// How the runtime builds the remote certificate's chain before the validation callback (which judges only its
    /// key): against an empty trust store, offline. With the default policy every handshake searched the system's
    /// few hundred root certificates: a fifth of a node's processor time per accepted connection. A new policy each
    /// time: the runtime is handed a mutable object.
    /// </summary>
    private static X509ChainPolicy NoChainTrust() => new()
    {
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };

    // AES-128-GCM first: the fastest where the processor has AES instructions; the others stay for peers without.
    // Only Linux lets a program order them (null elsewhere: the system's order applies).
    private static readonly CipherSuitesPolicy? PreferredCipherSuites = OperatingSystem.IsLinux()
        ? new CipherSuitesPolicy([TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256])
        : null;

    /// <summary>What answered a TLS client hello, judged from the first bytes that came back.</summary>
    private static P2PException WhyNotTls(string address, ReadOnlySpan<byte> answer, Exception failure)
    {
        if (answer.Length == 0)
        {
            return new P2PException(ProtocolError.ConnectionLost, $"{address} closed the connection during the TLS handshake ({failure.Message})", failure);
        }

        if (answer[0] is HandshakeRecordType or 0x15 or 0x14)
        {
            // A TLS handshake, alert or change-cipher-spec record: TLS spoken, and it failed.
            return new P2PException(ProtocolError.ConnectionLost, $"TLS handshake with {address} failed: {failure.Message}", failure);
        }

        if (answer[0] == (byte)MessageCode.Error)
        {
            return new P2PException(ProtocolError.UnsupportedVersion, $"{address} answered in plaintext: it speaks protocol 1 (no TLS), and this node speaks protocol {ProtocolLimits.Version} (TLS 1.3 on every connection)", failure);
        }

        return new P2PException(ProtocolError.NotP2PNode, $"{address} is not a P2PTransfer node: it does not answer TLS 1.3 (its answer starts with 0x{Convert.ToHexString(answer[..Math.Min(8, answer.Length)])})", failure);
    }
}
