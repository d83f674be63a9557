import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates made at test time: a CA, a server certificate for 127.0.0.1 and
/// localhost, and a client certificate, all PEM (kube-wait's API server, infer-serve's TLS).
public struct TestPKI: Sendable {
    public let caPEM: String
    public let serverCertPEM: String
    public let serverKeyPEM: String
    public let clientCertPEM: String
    public let clientKeyPEM: String

    public static let shared: TestPKI = try! TestPKI()

    public init() throws {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("k8s-inference-sim test CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                KeyUsage(keyCertSign: true)
            },
            issuerPrivateKey: .init(caKey))
        func leaf(_ name: String, _ key: P256.Signing.PrivateKey, server: Bool) throws -> Certificate {
            try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName,
                subject: try DistinguishedName { CommonName(name) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    if server {
                        SubjectAlternativeNames([
                            .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost"),
                        ])
                        try ExtendedKeyUsage([.serverAuth])
                    } else {
                        try ExtendedKeyUsage([.clientAuth])
                    }
                },
                issuerPrivateKey: .init(caKey))
        }
        let serverKey = P256.Signing.PrivateKey()
        let clientKey = P256.Signing.PrivateKey()
        caPEM = try ca.serializeAsPEM().pemString
        serverCertPEM = try leaf("127.0.0.1", serverKey, server: true).serializeAsPEM().pemString
        serverKeyPEM = serverKey.pemRepresentation
        clientCertPEM = try leaf("k8s-inference-sim-test-client", clientKey, server: false).serializeAsPEM().pemString
        clientKeyPEM = clientKey.pemRepresentation
    }

    /// The PEMs as files in a new folder (readable by the ordinary user tests run tools
    /// as): ca.pem, server.pem, server.key, client.pem, client.key.
    public func files() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pki-\(UUID())").path
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for (name, text) in [
            ("ca.pem", caPEM), ("server.pem", serverCertPEM), ("server.key", serverKeyPEM),
            ("client.pem", clientCertPEM), ("client.key", clientKeyPEM),
        ] {
            let path = folder + "/" + name
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        }
        return folder
    }
}
