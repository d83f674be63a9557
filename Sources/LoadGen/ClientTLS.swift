import NIOCore
import NIOSSL

/// infer-load's TLS for https targets: the system's trust store, or `--cacert`; no
/// verification with `--insecure`; a client certificate with `--cert` and `--key`; the
/// target's host name as SNI (not an IP address, which SNI cannot carry). One context,
/// made once, for every connection of a run.
public struct ClientTLS: Sendable {
    let context: NIOSSLContext
    let serverName: String?

    public init(
        host: String, caFile: String?, insecure: Bool, certFile: String?, keyFile: String?,
        alpn: [String] = []
    ) throws(ParseError) {
        var config = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile { config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
        } catch {
            throw ParseError("--cacert \(caFile ?? ""): cannot read a PEM certificate from it (\(error))")
        }
        if insecure { config.certificateVerification = .none }
        switch (certFile, keyFile) {
        case (nil, nil): break
        case (let cert?, let key?):
            do {
                config.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            } catch {
                throw ParseError("--cert \(cert): cannot read a PEM certificate chain from it (\(error))")
            }
            do { config.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)) } catch {
                throw ParseError("--key \(key): cannot read a PEM private key from it (\(error))")
            }
        default: throw ParseError("--cert and --key: give both")
        }
        config.applicationProtocols = alpn
        do { context = try NIOSSLContext(configuration: config) } catch {
            throw ParseError("TLS: \(error)")
        }
        serverName = (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    func handler() throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: serverName)
    }

    /// Whether a connection's error came from TLS (the error kind `tls`).
    static func isTLSError(_ error: any Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
            || error is NIOSSLCloseTimedOutError
    }

    /// A TLS failure as a person reads it: BoringSSL's reason ("CERTIFICATE_VERIFY_FAILED"),
    /// with what to do about an unverified certificate.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        let parts = text.split(separator: "OPENSSL_internal:", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return "TLS handshake: \(text)" }
        let reason = parts[1].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        let hint =
            reason == "CERTIFICATE_VERIFY_FAILED"
            ? " (trust its CA with --cacert FILE, or skip the check with --insecure)" : ""
        return "TLS handshake failed: \(reason)" + hint
    }
}

/// A connection's connect time, TLS handshake included, for the record of its first
/// request: HTTP/1.1's `Connection` and HTTP/2's `H2Connection` alike.
protocol ConnectTiming: AnyObject {
    var connectStart: UInt64 { get }
    var connectNanos: UInt64? { get set }
    /// Opened before the run's clock started (`LoadRun.warmUp()`) and not ready yet.
    var warm: Bool { get set }
}

extension ConnectTiming {
    /// The connection is ready (connected over TCP; over TLS, handshaken): the first call counts.
    func connectDone() {
        if connectNanos == nil { connectNanos = NIODeadline.now().uptimeNanoseconds &- connectStart }
    }
}
