import NIOCore
import NIOSSL

/// infer-load's TLS for https targets: the system's trust store, or `--cacert`; no
/// verification with `--insecure`; a client certificate with `--cert` and `--key`; the
/// target's host name as SNI (not an IP address, which SNI cannot carry). One context,
/// made once, for every connection of a run.
public struct ClientTLS: Sendable {
    let context: NIOSSLContext
    let serverName: String?

    public init(host: String, caFile: String?, insecure: Bool, certFile: String?, keyFile: String?,
                alpn: [String] = []) throws(ParseError) {
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
}
