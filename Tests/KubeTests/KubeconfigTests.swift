import Foundation
@testable import Kube
import Testing

@Suite struct KubeconfigTests {
    /// A scratch folder with files in it; removed when the test ends.
    final class Folder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID())").path
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        @discardableResult
        func write(_ name: String, _ text: String) -> String {
            let file = path + "/" + name
            FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
            return file
        }
    }

    static let kind = """
        apiVersion: v1
        kind: Config
        current-context: kind-k8s-inference-sim
        clusters:
        - name: kind-k8s-inference-sim
          cluster:
            server: https://127.0.0.1:6443
            certificate-authority-data: \(Data("CA-PEM".utf8).base64EncodedString())
        users:
        - name: kind-k8s-inference-sim
          user:
            client-certificate-data: \(Data("CERT-PEM".utf8).base64EncodedString())
            client-key-data: \(Data("KEY-PEM".utf8).base64EncodedString())
        contexts:
        - name: kind-k8s-inference-sim
          context:
            cluster: kind-k8s-inference-sim
            user: kind-k8s-inference-sim
            namespace: k8s-inference-sim
        """

    @Test func clientCertificatesInline() throws {
        let access = try Kubeconfig.parse(Self.kind, directory: "/x").access(context: nil)
        #expect(access.server == "https://127.0.0.1:6443")
        #expect(access.namespace == "k8s-inference-sim")
        #expect(access.caPEM == Array("CA-PEM".utf8))
        #expect(access.clientCertificatePEM == Array("CERT-PEM".utf8) && access.clientKeyPEM == Array("KEY-PEM".utf8))
        #expect(access.credential == .none && !access.insecureSkipTLSVerify)
        // Credentials never show in what may be logged.
        #expect(!access.description.contains("KEY") && access.description.contains("6443"))
    }

    @Test func relativeFilesAndTokenFile() throws {
        let folder = Folder()
        folder.write("ca.crt", "FILE-CA")
        let config = folder.write(
            "config",
            """
            current-context: dev
            clusters:
            - name: c
              cluster: {server: "https://api.example:443", certificate-authority: ca.crt}
            users:
            - name: u
              user: {tokenFile: token}
            contexts:
            - name: dev
              context: {cluster: c, user: u}
            """)
        let access = try KubeconfigLoader.load(flag: config, context: nil, environment: [:])
        #expect(access.caPEM == Array("FILE-CA".utf8))
        #expect(access.credential == .tokenFile(folder.path + "/token"))
        #expect(access.namespace == "default")
    }

    @Test func kubeconfigListIsMergedFirstWins() throws {
        let folder = Folder()
        let a = folder.write(
            "a",
            """
            current-context: one
            clusters:
            - {name: shared, cluster: {server: "https://first:1"}}
            contexts:
            - {name: one, context: {cluster: shared}}
            """)
        let b = folder.write(
            "b",
            """
            current-context: two
            clusters:
            - {name: shared, cluster: {server: "https://second:2"}}
            - {name: other, cluster: {server: "https://other:3", insecure-skip-tls-verify: true}}
            users:
            - {name: tok, user: {token: secret-token}}
            contexts:
            - {name: two, context: {cluster: other, user: tok, namespace: ns2}}
            """)
        let env = ["KUBECONFIG": "\(a):\(folder.path)/missing:\(b)"]
        let current = try KubeconfigLoader.load(flag: nil, context: nil, environment: env)
        #expect(current.server == "https://first:1")  // a's current context and a's cluster win
        let two = try KubeconfigLoader.load(flag: nil, context: "two", environment: env)
        #expect(two.server == "https://other:3" && two.insecureSkipTLSVerify && two.namespace == "ns2")
        #expect(two.credential == .token("secret-token"))
        #expect(!two.description.contains("secret-token"))
    }

    @Test func execPluginIsKept() throws {
        let config = try Kubeconfig.parse(
            """
            current-context: c
            clusters: [{name: k, cluster: {server: "https://k:6443"}}]
            users:
            - name: e
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: ./get-token
                  args: [--cluster, k]
                  env: [{name: FOO, value: bar}]
            contexts: [{name: c, context: {cluster: k, user: e}}]
            """, directory: "/x")
        guard case .exec(let exec) = try config.access(context: nil).credential else { Issue.record("no exec"); return }
        #expect(exec.command == "/x/./get-token" && exec.args == ["--cluster", "k"] && exec.env?.first?.value == "bar")
        #expect(exec.apiVersion == "client.authentication.k8s.io/v1")
    }

    /// KUBERNETES_EXEC_INFO is built by the JSON module: an apiVersion with a quote or a
    /// backslash (a broken kubeconfig, or a hostile one) still makes valid JSON, unchanged.
    @Test(arguments: ["client.authentication.k8s.io/v1", #"v1", "kind": "x"#, #"back\slash"#, "line\nbreak"])
    func execInfoIsValidJSON(apiVersion: String) throws {
        let text = ExecCredential.execInfo(apiVersion: apiVersion)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
        #expect(parsed["apiVersion"] as? String == apiVersion, "\(text)")
        #expect(parsed["kind"] as? String == "ExecCredential")
        #expect((parsed["spec"] as? [String: Any])?["interactive"] as? Bool == false, "\(text)")
        #expect(parsed.count == 3)
    }

    @Test func configurationErrorsSayWhatToFix() throws {
        let config = try Kubeconfig.parse(Self.kind, directory: "/x")
        #expect(
            throws: KubeConfigError.invalid("context \"nope\" not found in kubeconfig (known: kind-k8s-inference-sim)")
        ) {
            try config.access(context: "nope")
        }
        #expect(throws: KubeConfigError.self) { try Kubeconfig.parse("clusters: 5", directory: "/x") }
        #expect(throws: KubeConfigError.self) { try Kubeconfig().access(context: nil) }
        #expect(throws: KubeConfigError.self) {
            try KubeconfigLoader.load(flag: "/nonexistent/config", context: nil, environment: [:])
        }
        do {
            _ = try KubeconfigLoader.load(flag: nil, context: nil, environment: ["HOME": "/nonexistent"])
            Issue.record("loaded a config from nowhere")
        } catch {
            #expect(error.description.hasPrefix("no kubeconfig"))
        }
    }

    @Test func inClusterServiceAccount() throws {
        let folder = Folder()
        folder.write("token", "sa-token")
        folder.write("ca.crt", "SA-CA")
        folder.write("namespace", "k8s-inference-sim\n")
        let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": "/nonexistent"]
        let access = try KubeconfigLoader.load(
            flag: nil, context: nil, environment: env, serviceAccountDirectory: folder.path)
        #expect(access.server == "https://10.96.0.1:443")
        #expect(access.namespace == "k8s-inference-sim")
        #expect(access.caPEM == Array("SA-CA".utf8))
        #expect(access.credential == .tokenFile(folder.path + "/token"))
        let v6 = try ClusterAccess.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1"], directory: folder.path)
        #expect(v6.server == "https://[fd00::1]:443")
    }
}
