import AsyncHTTPClient
import FoundationEssentials
import JSON
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import Subprocess
import SystemPackage
import Platform

/// The Kubernetes REST API over HTTPS: GET (list) and watch streams, with the
/// cluster's CA, client certificates, bearer tokens or an exec credential plugin.
public final class KubeClient: Sendable {
    public let access: ClusterAccess
    private let http: HTTPClient
    private let credentialCache = NIOLockedValueBox<ExecCredential.Result?>(nil)

    public init(access: ClusterAccess) throws(KubeConfigError) {
        self.access = access
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = access.caPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let cert = access.clientCertificatePEM, let key = access.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw .invalid("unusable TLS material in \(access.source): \(error)")
        }
        if access.insecureSkipTLSVerify { tls.certificateVerification = .none }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout.connect = .seconds(10)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// LIST: the items and the list's resourceVersion.
    public func list(
        _ path: String, query: [(String, String)], deadline: NIODeadline
    ) async throws(KubeAPIError) -> (items: [JSONObject], resourceVersion: String) {
        let (status, body) = try await fetch(path, query: query, deadline: deadline)
        guard status == 200 else { throw Self.statusError(status, body) }
        guard let object = try? JSONObject(parsing: body) else { throw .protocolError("list response is not JSON") }
        return (object.objects("items"), object.string("metadata", "resourceVersion") ?? "")
    }

    /// WATCH from `resourceVersion`; calls `onEvent` per event until the server ends the
    /// stream (its timeoutSeconds), the connection drops, or `onEvent` returns false.
    public func watch(
        _ path: String, query: [(String, String)], resourceVersion: String, deadline: NIODeadline,
        onEvent: (WatchEvent) async throws(KubeAPIError) -> Bool
    ) async throws(KubeAPIError) {
        let watchQuery =
            query + [
                ("watch", "1"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
                ("timeoutSeconds", "300"),
            ]
        var response: HTTPClientResponse
        var attempt = 0
        while true {
            do {
                response = try await http.execute(try await request(path, query: watchQuery), deadline: deadline)
            } catch let error as KubeAPIError {
                throw error
            } catch {
                throw .transport(Self.describe(error))
            }
            // An exec credential may have been revoked early: get a fresh one, once.
            guard response.status.code == 401, attempt == 0, case .exec = access.credential else { break }
            invalidateCredential()
            attempt += 1
        }
        if response.status.code != 200 {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw Self.statusError(Int(response.status.code), body)
        }
        var pending: [UInt8] = []
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = pending[..<newline]
                    defer { pending.removeSubrange(...newline) }
                    if line.isEmpty { continue }
                    if try await !onEvent(WatchEvent.parse(line)) { return }
                }
            }
        } catch let error as KubeAPIError {
            throw error
        } catch {
            // A dropped stream is not an error: the caller resumes from the last version.
            return
        }
    }

    /// GET a path; the status and body bytes.
    func fetch(
        _ path: String, query: [(String, String)], deadline: NIODeadline
    ) async throws(KubeAPIError) -> (Int, [UInt8]) {
        for attempt in 0..<2 {
            do {
                let response = try await http.execute(try await request(path, query: query), deadline: deadline)
                let body = try await response.body.collect(upTo: 64 << 20)
                let status = Int(response.status.code)
                // An exec credential may have been revoked early: get a fresh one, once.
                if status == 401, attempt == 0, case .exec = access.credential {
                    invalidateCredential()
                    continue
                }
                return (status, Array(body.readableBytesView))
            } catch let error as KubeAPIError {
                throw error
            } catch {
                throw .transport(Self.describe(error))
            }
        }
        throw .refused(code: 401, message: "")
    }

    private func request(_ path: String, query: [(String, String)]) async throws(KubeAPIError) -> HTTPClientRequest {
        var url = access.server.hasSuffix("/") ? String(access.server.dropLast()) : access.server
        url += path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "kube-wait/\(ToolVersion.current)")
        if let token = try await bearerToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    func bearerToken() async throws(KubeAPIError) -> String? {
        switch access.credential {
        case .none: return nil
        case .token(let token): return token
        case .tokenFile(let path):
            guard let text = SmallFile.readText(path) else { throw .transport("cannot read token file \(path)") }
            return trimmed(text)
        case .exec(let exec):
            if let cached = credentialCache.withLockedValue({ $0 }), cached.expires.map({ $0 > Date() }) ?? true {
                return cached.token
            }
            let credential = try await ExecCredential.run(exec)
            credentialCache.withLockedValue { $0 = credential }
            return credential.token
        }
    }

    func invalidateCredential() { credentialCache.withLockedValue { $0 = nil } }

    static func statusError(_ status: Int, _ body: [UInt8]) -> KubeAPIError {
        let object = try? JSONObject(parsing: body)
        let message = object?.string("message") ?? ""
        if status == 401 || status == 403 { return .refused(code: status, message: message) }
        return .protocolError("HTTP \(status)\(message.isEmpty ? "" : ": \(message)")")
    }

    /// Percent-encodes all but RFC 3986's unreserved characters (and '/' and ':', which
    /// label selectors and field paths keep readable).
    static func escape(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"),
                UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    static func describe(_ error: any Error) -> String {
        "cannot reach the API server: \(String(describing: error).split(separator: "\n").first ?? "")"
    }
}

/// Runs a client.authentication.k8s.io exec plugin and reads its ExecCredential.
enum ExecCredential {
    struct Result: Sendable {
        let token: String
        let expires: Date?
    }

    /// What a plugin reads from KUBERNETES_EXEC_INFO; the kubeconfig's apiVersion escaped as JSON.
    static func execInfo(apiVersion: String) -> String {
        let spec = JSONObject()
        spec.set("interactive", .bool(false))
        let info = JSONObject()
        info.set("apiVersion", .string(apiVersion))
        info.set("kind", .string("ExecCredential"))
        info.set("spec", object: spec)
        return String(decoding: info.serialized(), as: UTF8.self)
    }

    static func run(_ exec: Kubeconfig.ExecConfig) async throws(KubeAPIError) -> Result {
        var overrides: [Environment.Key: String?] = [:]
        for variable in exec.env ?? [] { overrides[Environment.Key(stringLiteral: variable.name)] = variable.value }
        let apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1"
        overrides["KUBERNETES_EXEC_INFO"] = execInfo(apiVersion: apiVersion)
        let executable: Executable = exec.command.contains("/") ? .path(FilePath(exec.command)) : .name(exec.command)
        let status: TerminationStatus
        let output: [UInt8]
        do {
            // The plugin's own messages (a login prompt's reason) go to our stderr, as with kubectl.
            let result = try await Subprocess.run(
                executable, arguments: Arguments(exec.args ?? []),
                environment: .inherit.updating(overrides),
                output: .bytes(limit: 1 << 20),
                error: .fileDescriptor(.standardError, closeAfterSpawningProcess: false))
            status = result.terminationStatus
            output = result.standardOutput
        } catch {
            throw .transport("exec credential plugin \(exec.command) did not start: \(error)")
        }
        guard status.isSuccess else {
            throw .transport("exec credential plugin \(exec.command) exited with \(status)")
        }
        guard let object = try? JSONObject(parsing: output), let token = object.string("status", "token"),
            !token.isEmpty
        else {
            throw .transport("exec credential plugin \(exec.command) printed no ExecCredential with status.token")
        }
        let expires = object.string("status", "expirationTimestamp").flatMap { try? Date($0, strategy: .iso8601) }
        return Result(token: token, expires: expires)
    }
}
