import NIOSSL

/// The server's TLS, from `--tls-cert` and `--tls-key`: nil for plain HTTP. Offers
/// HTTP/2 and HTTP/1.1 by ALPN (Hummingbird's `http2Upgrade` adds the protocols).
public enum ServerTLS {
    public static func configuration(_ config: ServerConfig) throws(ConfigError) -> TLSConfiguration? {
        guard !config.tlsCert.isEmpty else { return nil }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(config.tlsCert) } catch {
            throw ConfigError(
                flag: "tls-cert", value: config.tlsCert, expected: "a readable PEM certificate chain (\(error))")
        }
        guard !chain.isEmpty else {
            throw ConfigError(flag: "tls-cert", value: config.tlsCert, expected: "a PEM file with a certificate")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: config.tlsKey, format: .pem) } catch {
            throw ConfigError(flag: "tls-key", value: config.tlsKey, expected: "a readable PEM private key (\(error))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if !config.tlsClientCA.isEmpty {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(config.tlsClientCA)) } catch {
                throw ConfigError(
                    flag: "tls-client-ca", value: config.tlsClientCA,
                    expected: "readable PEM CA certificates (\(error))")
            }
            // A client has no host name to check: its certificate is verified against the CA.
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }
}
