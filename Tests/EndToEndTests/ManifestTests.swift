import Foundation
import TestSupport
import Testing
import Yams

/// The Kubernetes manifests as `kubectl kustomize` renders them, cross-checked:
/// the names, selectors, ports, probes and image must agree with each other and with
/// infer-serve. Needs kubectl (with its built-in kustomize); without it the suite is
/// skipped, saying so.
@Suite(.ownThreads, .enabled(if: Kubectl.mustRun, "kubectl is not installed: manifests not rendered"))
struct ManifestTests {

    static func render(_ dir: String) throws -> [[String: Any]] {
        let result = try Tools.execute(try #require(Kubectl.path), ["kustomize", Tools.root + "/" + dir])
        #expect(result.status == 0, "\(result.stderr)")
        return try Yams.load_all(yaml: result.stdout).compactMap { $0 as? [String: Any] }
    }

    static func object(_ objects: [[String: Any]], _ kind: String) -> [String: Any]? {
        objects.first { $0["kind"] as? String == kind }
    }

    static func path(_ object: Any?, _ keys: String...) -> Any? {
        var node = object
        for key in keys {
            if let index = Int(key), let array = node as? [Any] {
                node = index < array.count ? array[index] : nil
            } else {
                node = (node as? [String: Any])?[key]
            }
        }
        return node
    }

    @Test func devOverlayIsConsistent() throws {
        let objects = try Self.render("k8s/overlays/dev")
        let deployment = try #require(Self.object(objects, "Deployment"))
        let service = try #require(Self.object(objects, "Service"))
        let hpa = try #require(Self.object(objects, "HorizontalPodAutoscaler"))
        let configMap = try #require(Self.object(objects, "ConfigMap"))
        #expect(Self.path(Self.object(objects, "Namespace"), "metadata", "name") as? String == "k8s-inference-sim")
        for object in [deployment, service, hpa, configMap] {
            #expect(Self.path(object, "metadata", "namespace") as? String == "k8s-inference-sim")
            #expect((Self.path(object, "metadata", "name") as? String)?.hasPrefix("dev-") == true)
        }
        // The HPA owns the replica count.
        #expect(Self.path(deployment, "spec", "replicas") == nil)
        #expect(
            Self.path(hpa, "spec", "scaleTargetRef", "name") as? String == Self.path(deployment, "metadata", "name")
                as? String)
        #expect(
            Self.path(hpa, "spec", "minReplicas") as? Int == 1 && Self.path(hpa, "spec", "maxReplicas") as? Int == 10)
        #expect(Self.path(hpa, "spec", "metrics", "0", "resource", "target", "averageUtilization") as? Int == 60)
        // The Service selects the pods and targets a named container port.
        let podLabels = try #require(
            Self.path(deployment, "spec", "template", "metadata", "labels") as? [String: String])
        let selector = try #require(Self.path(service, "spec", "selector") as? [String: String])
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value })
        let container = try #require(
            Self.path(deployment, "spec", "template", "spec", "containers", "0") as? [String: Any])
        let portNames = (container["ports"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(portNames.contains(Self.path(service, "spec", "ports", "0", "targetPort") as? String ?? "?"))
        #expect(Self.path(service, "spec", "ports", "0", "port") as? Int == 80)
        #expect(Self.path(service, "spec", "type") as? String == "NodePort")
        #expect(Self.path(service, "spec", "ports", "0", "nodePort") as? Int == 30080)
        // Probes hit routes infer-serve serves: asked of a running one, each answers 200.
        #expect(Self.path(container, "readinessProbe", "httpGet", "port") as? String == "http")
        #expect(Self.path(container, "livenessProbe", "httpGet", "port") as? String == "http")
        let (server, port) = try Tools.startServer(["--work-ms", "1"])
        defer { server.terminate(); server.waitUntilExit() }
        try Tools.waitReady(port: port)
        for probe in ["readinessProbe", "livenessProbe"] {
            let path = try #require(Self.path(container, probe, "httpGet", "path") as? String)
            let answer = try Tools.run(
                "infer-load", ["--host", "http://127.0.0.1:\(port)", "--path", path, "--requests", "1", "--quiet"]
            ).stdout
            #expect(answer.contains("\"status\":200"), "\(probe) \(path): \(answer)")
        }
        // The image is what bin/image builds, and kind's loaded copy is used.
        let lib = try String(contentsOfFile: Tools.root + "/bin/lib.sh", encoding: .utf8)
        #expect(lib.contains("IMAGE=${IMAGE:-\(container["image"] as? String ?? "?")}"))
        #expect(container["imagePullPolicy"] as? String == "IfNotPresent")
        // Restricted Pod Security.
        #expect(Self.path(deployment, "spec", "template", "spec", "securityContext", "runAsNonRoot") as? Bool == true)
        #expect(Self.path(deployment, "spec", "template", "spec", "automountServiceAccountToken") as? Bool == false)
        #expect(Self.path(container, "securityContext", "readOnlyRootFilesystem") as? Bool == true)
        #expect(Self.path(container, "securityContext", "capabilities", "drop") as? [String] == ["ALL"])
        #expect(Self.path(container, "securityContext", "allowPrivilegeEscalation") as? Bool == false)
        #expect(
            Self.path(deployment, "spec", "template", "spec", "securityContext", "seccompProfile", "type") as? String
                == "RuntimeDefault")
        // POD_NAME from the downward API; settings from the ConfigMap, each one infer-serve knows.
        let env = container["env"] as? [[String: Any]] ?? []
        #expect(
            env.contains {
                $0["name"] as? String == "POD_NAME"
                    && Self.path($0, "valueFrom", "fieldRef", "fieldPath") as? String == "metadata.name"
            })
        #expect(
            Self.path(container, "envFrom", "0", "configMapRef", "name") as? String == Self.path(
                configMap, "metadata", "name") as? String)
        let help = try Tools.run("infer-serve", ["--help"]).stdout
        for key in (configMap["data"] as? [String: Any] ?? [:]).keys {
            #expect(help.contains(key), "ConfigMap sets \(key), which infer-serve does not read")
        }
        // The grace period covers the preStop pause, the server's drain and its 5 s
        // cancellation window (InferServer.run), with time to spare.
        let grace = Self.path(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds") as? Int ?? 0
        let drain = Int(Self.path(configMap, "data", "INFER_DRAIN_SECONDS") as? String ?? "") ?? 99
        let preStop = Self.path(container, "lifecycle", "preStop", "exec", "command") as? [String] ?? []
        #expect(preStop.first == "sleep")
        let pause = preStop.count == 2 ? Int(preStop[1]) ?? 99 : 99
        #expect(pause >= 1, "a preStop pause lets endpoints drop the pod before the server stops listening")
        #expect(grace > pause + drain + 5)
    }

    @Test func loadJobTargetsTheDevService() throws {
        let objects = try Self.render("k8s/jobs/load")
        let job = try #require(Self.object(objects, "Job"))
        #expect(Self.path(job, "spec", "completionMode") as? String == "Indexed")
        let args = (Self.path(job, "spec", "template", "spec", "containers", "0", "args", "0") as? String) ?? ""
        #expect(args.contains("infer-load --host \"$TARGET\"") && args.contains("--arrival poisson"))
        let env = Self.path(job, "spec", "template", "spec", "containers", "0", "env") as? [[String: Any]] ?? []
        #expect(
            env.contains { $0["name"] as? String == "TARGET" && $0["value"] as? String == "http://dev-inference-sim" },
            "the Job's default target is the dev overlay's Service")
        #expect(Self.path(job, "metadata", "namespace") as? String == "k8s-inference-sim")
    }

    /// kube-watch in the cluster runs on the service account its Role is bound to, as
    /// the image's user, and watches the dev overlay's HPA.
    @Test func watchJobRunsOnItsRole() throws {
        let objects = try Self.render("k8s/jobs/watch")
        let job = try #require(Self.object(objects, "Job"))
        let binding = try #require(Self.object(objects, "RoleBinding"))
        let role = try #require(Self.object(objects, "Role"))
        let account = Self.path(job, "spec", "template", "spec", "serviceAccountName") as? String
        #expect(
            account == "dev-kube-watch"
                && Self.path(Self.object(objects, "ServiceAccount"), "metadata", "name") as? String == account)
        #expect(Self.path(binding, "subjects", "0", "name") as? String == account)
        #expect(Self.path(binding, "roleRef", "name") as? String == Self.path(role, "metadata", "name") as? String)
        #expect(Self.path(job, "spec", "template", "spec", "securityContext", "runAsUser") as? Int == 10001)
        let command = Self.path(job, "spec", "template", "spec", "containers", "0", "command") as? [String] ?? []
        let env = Self.path(job, "spec", "template", "spec", "containers", "0", "env") as? [[String: Any]] ?? []
        #expect(command.first == "kube-watch" && command.contains("$(TARGET)"), "\(command)")
        #expect(env.contains { $0["name"] as? String == "TARGET" && $0["value"] as? String == "hpa/dev-inference-sim" })
        for object in objects { #expect(Self.path(object, "metadata", "namespace") as? String == "k8s-inference-sim") }
    }

    @Test func kindMapsTheNodePortToTheHost() throws {
        let cluster = try #require(
            try Yams.load(yaml: String(contentsOfFile: Tools.root + "/k8s/kind/cluster.yaml", encoding: .utf8))
                as? [String: Any])
        #expect(cluster["name"] as? String == "k8s-inference-sim")
        #expect(Self.path(cluster, "nodes", "0", "extraPortMappings", "0", "containerPort") as? Int == 30080)
        #expect(Self.path(cluster, "nodes", "0", "extraPortMappings", "0", "hostPort") as? Int == 8080)
    }
}

/// kubectl on PATH, if any.
enum Kubectl {
    /// Under CI the manifest tests never skip: without kubectl they run and fail.
    static var mustRun: Bool { path != nil || !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }
    static let path: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin")
        .split(separator: ":").map { $0 + "/kubectl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}
