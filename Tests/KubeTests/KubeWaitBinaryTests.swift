import Foundation
import JSON
@testable import Kube
import TestSupport
import Testing

/// The kube-wait binary against the test API server: kubeconfig auth of each kind,
/// output, and exit statuses.
@Suite(.serialized, .ownThreads, .timeLimit(.minutes(2))) struct KubeWaitBinaryTests {
    static let binary = Tools.path("kube-wait")

    typealias Result = Tools.Result

    /// `tool` with no kubeconfig but the one the test names (none from $HOME or $KUBECONFIG).
    static func run(
        _ arguments: [String], tool: String = "kube-wait", environment: [String: String] = [:],
        stdoutTo file: String? = nil
    ) throws -> Result {
        let options = Tools.Options(
            environment: environment.merging(["HOME": "/nonexistent"]) { old, _ in old },
            unset: environment["KUBECONFIG"] == nil ? ["KUBECONFIG"] : [], stdoutTo: file)
        return try Tools.execute(Tools.path(tool), arguments, options)
    }

    final class Folder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kube-wait-\(UUID())").path
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        @discardableResult
        func write(_ name: String, _ text: String, executable: Bool = false) -> String {
            let file = path + "/" + name
            FileManager.default.createFile(
                atPath: file, contents: Data(text.utf8), attributes: executable ? [.posixPermissions: 0o755] : nil)
            return file
        }
    }

    static func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    static func kubeconfig(server: String, user: String) -> String {
        """
        current-context: test
        clusters:
        - name: c
          cluster:
            server: \(server)
            certificate-authority-data: \(b64(TestPKI.shared.caPEM))
        users:
        - name: u
          user:
        \(user)
        contexts:
        - name: test
          context: {cluster: c, user: u, namespace: capture}
        """
    }

    /// A server whose deployment "web" is rolled out, for `token` (nil: mutual TLS).
    static func server(token: String?, requireClientCert: Bool = false) async throws -> TestAPIServer {
        let complete = WaiterTests.fixture("deployment-complete.json")
        return try await TestAPIServer(token: token, requireClientCert: requireClientCert) { _, _ in
            .json(200, WaiterTests.list([complete], rv: "5"))
        }
    }

    @Test func clientCertificates() async throws {
        let server = try await Self.server(token: nil, requireClientCert: true)
        defer { Task { await server.close() } }
        let folder = Folder()
        let config = folder.write(
            "config",
            Self.kubeconfig(
                server: server.url,
                user: """
                        client-certificate-data: \(Self.b64(TestPKI.shared.clientCertPEM))
                        client-key-data: \(Self.b64(TestPKI.shared.clientKeyPEM))
                    """))
        let result = try Self.run(["deployment/web", "--kubeconfig", config])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("deployment/web: deployment \"web\" successfully rolled out"))
        // Without the client certificate the TLS handshake fails: it never gets through.
        let noCert = folder.write("nocert", Self.kubeconfig(server: server.url, user: "    token: x"))
        let refused = try Self.run(["deployment/web", "--kubeconfig", noCert, "--timeout", "2s"])
        #expect(refused.status == 124)
    }

    @Test func jsonOnAFullDiskIsAnError() async throws {
        let server = try await Self.server(token: "s3cret")
        defer { Task { await server.close() } }
        let folder = Folder()
        let config = folder.write("config", Self.kubeconfig(server: server.url, user: "    token: s3cret"))
        let result = try Self.run(["deployment/web", "--kubeconfig", config, "--json"], stdoutTo: "/dev/full")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("kube-wait: stdout: cannot write: No space left on device"), "\(result.stderr)")
    }

    @Test func tokenFileAndExecPluginAndMergedFiles() async throws {
        let server = try await Self.server(token: "s3cret")
        defer { Task { await server.close() } }
        let folder = Folder()
        folder.write("token", "s3cret\n")
        let tokenConfig = folder.write(
            "token-config", Self.kubeconfig(server: server.url, user: "    tokenFile: token"))
        let viaFile = try Self.run(["deployment/web", "--kubeconfig", tokenConfig])
        #expect(viaFile.status == 0, "\(viaFile.stderr)")

        let plugin = folder.write(
            "plugin",
            """
            #!/bin/sh
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"s3cret","expirationTimestamp":"2099-01-01T00:00:00Z"}}'
            """, executable: true)
        let execConfig = folder.write(
            "exec-config",
            Self.kubeconfig(
                server: server.url,
                user: """
                        exec:
                          apiVersion: client.authentication.k8s.io/v1
                          command: \(plugin)
                    """))
        let viaExec = try Self.run(["deployment/web", "--kubeconfig", execConfig, "--json"])
        #expect(viaExec.status == 0, "\(viaExec.stderr)")
        let lines = viaExec.stdout.split(separator: "\n")
        let last = try JSONObject(parsing: Array(String(lines.last ?? "").utf8))
        #expect(last["state"] == .string("done") && last["target"] == .string("deployment/web"))
        #expect(viaExec.stderr.isEmpty)
        #expect(!viaExec.stdout.contains("s3cret") && !viaExec.stderr.contains("s3cret"))

        // Two files through KUBECONFIG: the cluster and context in one, the user in the other.
        let a = folder.write(
            "a",
            """
            current-context: test
            clusters: [{name: c, cluster: {server: "\(server.url)", certificate-authority-data: \(Self.b64(TestPKI.shared.caPEM))}}]
            contexts: [{name: test, context: {cluster: c, user: u, namespace: capture}}]
            """)
        let b = folder.write("b", "users: [{name: u, user: {token: s3cret}}]\n")
        let merged = try Self.run(["deployment/web"], environment: ["KUBECONFIG": "\(a):\(b)"])
        #expect(merged.status == 0, "\(merged.stderr)")
    }

    @Test func exitStatuses() async throws {
        let stuck = WaiterTests.fixture("deployment-progress-deadline-exceeded.json")
        let server = try await TestAPIServer(token: "t") { request, _ in
            if request.query["fieldSelector"] == "metadata.name=stuck" {
                return .json(200, WaiterTests.list([stuck], rv: "2"))
            }
            return request.isWatch ? .stream([], drop: false) : .json(200, WaiterTests.list([], rv: "2"))
        }
        defer { Task { await server.close() } }
        let folder = Folder()
        let good = folder.write("good", Self.kubeconfig(server: server.url, user: "    token: t"))
        let bad = folder.write("bad", Self.kubeconfig(server: server.url, user: "    token: wrong"))
        let failed = try Self.run(["deployment/stuck", "--kubeconfig", good])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("exceeded its progress deadline"))
        let started = ContinuousClock.now
        let timedOut = try Self.run(["deployment/absent", "--kubeconfig", good, "--timeout", "2s"])
        let took = ContinuousClock.now - started
        #expect(timedOut.status == 124)
        // It gives up at its timeout: not a watch's idle limit later, not at once.
        #expect(took >= .seconds(2) && took < .seconds(3), "--timeout 2s took \(took)")
        #expect(timedOut.stderr.contains("timed out after 2s waiting for deployment/absent"))
        let refused = try Self.run(["deployment/stuck", "--kubeconfig", bad])
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("401 Unauthorized"))
        #expect(!refused.stderr.contains("wrong"))
        let unknownContext = try Self.run(["deployment/stuck", "--kubeconfig", good, "--context", "nope"])
        #expect(unknownContext.status == 2 && unknownContext.stderr.contains("context \"nope\" not found"))
    }

    @Test func inClusterServiceAccount() async throws {
        let server = try await Self.server(token: "sa-token")
        defer { Task { await server.close() } }
        let folder = Folder()
        folder.write("token", "sa-token")
        folder.write("ca.crt", TestPKI.shared.caPEM)
        folder.write("namespace", "capture")
        let access = try KubeconfigLoader.load(
            flag: nil, context: nil,
            environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(server.port)],
            serviceAccountDirectory: folder.path)
        let (outcome, _) = try await WaiterTests.run(server, ["deployment/web"], access: access)
        #expect(outcome == .done)
        #expect(server.seen.first?.authorization == "Bearer sa-token")
    }
}
