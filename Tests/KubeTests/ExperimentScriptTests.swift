import Foundation
import JSON
@testable import Kube
import TestSupport
import Testing

/// bin/experiment end to end, as an ordinary user: kube-watch against the HTTPS test
/// API server (speaking the real wire format: the captured HPA before and during a
/// rescale, its Event, a pod, a Deployment; no metrics API), infer-load against a local
/// infer-serve standing in for the Service, infer-stats over both.
@Suite(.serialized, .ownThreads, .timeLimit(.minutes(2))) struct ExperimentScriptTests {
    typealias W = WaiterTests
    static func server(pod: String) async throws -> TestAPIServer {
        let deployment = try ScalingWatchTests.deployment(), podObject = try ScalingWatchTests.pod(pod)
        let rescale = W.fixture("event-rescale.json").replacingOccurrences(of: "New size: 3", with: "New size: 10")
        let hold = 60_000
        return try await TestAPIServer(token: "s3cret") { request, _ in
            switch request.path {
            case ScalingWatchTests.base:
                if !request.isWatch { return .json(200, W.list([W.fixture("hpa-with-metrics.json")], rv: "10")) }
                if request.query["resourceVersion"] != "10" { return .stream([], drop: false, holdMs: hold) }
                return .stream(
                    [(1200, W.event("MODIFIED", W.versioned(W.fixture("hpa-scaling-limited.json"), "11")))],
                    drop: false, holdMs: hold)
            case "/apis/apps/v1/namespaces/capture/deployments":
                if !request.isWatch { return .json(200, W.list([deployment], rv: "10")) }
                return .stream([], drop: false, holdMs: hold)
            case "/api/v1/namespaces/capture/pods":
                if !request.isWatch { return .json(200, W.list([podObject], rv: "10")) }
                return .stream([], drop: false, holdMs: hold)
            case "/api/v1/namespaces/capture/events":
                if !request.isWatch { return .json(200, W.list([], rv: "10")) }
                if request.query["resourceVersion"] != "10" { return .stream([], drop: false, holdMs: hold) }
                return .stream([(1250, W.event("ADDED", rescale))], drop: false, holdMs: hold)
            default:
                return .json(404, W.fixture("status-404.json"))
            }
        }
    }

    @Test func aRunLeavesRecordsScalingReportAndChart() async throws {
        let pod = "dev-inference-sim-64db788756-local"
        let server = try await Self.server(pod: pod)
        defer { Task { await server.close() } }
        let bin = Tools.binDir
        // Ready (calibrated), as a Service's endpoints would be, before any load.
        let (serve, port) = try Tools.startServer(["--work-ms", "1"], environment: ["POD_NAME": pod])
        defer { serve.terminate() }
        try Tools.waitReady(port: port)
        let folder = Unprivileged.makeFolder("experiment")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = folder + "/kubeconfig"
        try Data(
            KubeWaitBinaryTests.kubeconfig(server: server.url, user: "    token: s3cret")
                .replacingOccurrences(of: "current-context: test", with: "current-context: kind-k8s-inference-sim")
                .replacingOccurrences(of: "- name: test", with: "- name: kind-k8s-inference-sim").utf8
        )
        .write(to: URL(fileURLWithPath: config))
        chmod(config, 0o644)
        let out = folder + "/run"
        let result = try Tools.execute(
            "/bin/bash", [Tools.root + "/bin/experiment"],
            environment: [
                "KUBECONFIG": config, "HOME": folder, "NAMESPACE": "capture", "URL": "http://127.0.0.1:\(port)",
                "STEPS": "20:2s,5:1s", "SETTLE": "1", "INTERVAL": "1s", "OUT": out, "INFER_SIM_BIN": bin,
            ])
        let (report, errors) = (result.stdout, result.stderr)
        #expect(result.status == 0, "\(errors)")
        for file in ["records.jsonl", "scaling.jsonl", "report.txt", "chart.svg"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "\(file) missing: \(errors)")
        }
        let records = try String(contentsOfFile: out + "/records.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(records.count == 45, "20/s for 2 s and 5/s for 1 s")
        #expect(
            records.allSatisfy { $0.contains(#""status":200"#) && $0.contains(pod) },
            "every request served by the stand-in")
        let scaling = try String(contentsOfFile: out + "/scaling.jsonl", encoding: .utf8)
        #expect(scaling.components(separatedBy: #""type":"hpa""#).count == 3, "both HPA states: \(scaling)")
        #expect(scaling.contains(#""type":"hpa_event""#) && scaling.contains(#""new_size":10"#))
        #expect(report.contains("replicas    cpu%"), "\(report)")
        #expect(report.contains("Scaling timeline") && report.contains("up 6→10"), "\(report)")
        #expect(try String(contentsOfFile: out + "/chart.svg", encoding: .utf8).contains("Replicas (HPA desired"))
        #expect(errors.contains("is metrics-server running?"), "no metrics API here: the hint says so: \(errors)")
        #expect(errors.contains("are in \(out)"))
    }
}
