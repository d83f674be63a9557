import ArgumentParser
import Kube
import Platform
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// kube-watch: the scaling side of a run as JSON lines, to merge with infer-load's records.
struct KubeWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube-watch",
        abstract:
            "Write what an HPA, its Deployment and their pods do as JSON lines, to merge with infer-load's records.",
        discussion: """
            One line per change on stdout (infer-records(5), "Scaling lines"): the HPA's status \
            (replicas, CPU against its target, conditions), the Deployment's replica counts, each \
            pod's lifecycle (created, scheduled, started, ready, unready, terminating, deleted), \
            per-pod CPU and memory once per metrics window, and the HPA's events. Watches, except \
            for the metrics API, which has none. Runs until --seconds pass or SIGINT/SIGTERM, then \
            exits 0 with everything written.
            """,
        version: ToolVersion.current
    )

    @Argument(
        help: ArgumentHelp("hpa/NAME, or deployment/NAME (its HPA found by scaleTargetRef).", valueName: "target"))
    var target: String
    @Option(
        name: [.customShort("n"), .customLong("namespace")], help: "Namespace (default: the context's, else default).")
    var namespace: String?
    @Option(help: ArgumentHelp("Stop after this long (e.g. 10m); default: until a signal.", valueName: "duration"))
    var seconds: DurationOption?
    @Option(
        help: ArgumentHelp("Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).", valueName: "file"))
    var kubeconfig: String?
    @Option(help: ArgumentHelp("Kubeconfig context (default: the current one).", valueName: "name")) var context:
        String?

    func validate() throws {
        _ = try watchTarget()
        if let seconds, seconds.seconds <= 0 {
            throw ValidationError("--seconds \(seconds.text): expected a duration above 0, such as 10m")
        }
    }

    func watchTarget() throws -> WaitTarget {
        let parsed: WaitTarget
        do { parsed = try WaitTarget.parse(target) } catch { throw ValidationError(error.description) }
        guard ScalingWatch.kinds.contains(parsed.kind), parsed.name != nil else {
            throw ValidationError("\(target): expected hpa/NAME or deployment/NAME")
        }
        return parsed
    }

    func run() async throws {
        let what = try watchTarget()
        let (access, client) = try ClusterConnection.open(kubeconfig: kubeconfig, context: context, tool: "kube-watch")
        LineWriter.ignoreSIGPIPE()
        let out = BackgroundWriter(fd: 1, whenFull: .wait)
        let (ends, end) = AsyncStream<Int32>.makeStream()
        let watch = ScalingWatch(client: client, namespace: namespace ?? access.namespace, target: what) { bytes in
            var line = bytes
            // A reader that went away (EPIPE) ends the watch, quietly.
            if out.submit(&line) != .open { end.yield(ExitStatus.success) }
        }
        let signals = await ShutdownSignals.trap { _, _ in end.yield(ExitStatus.success) }
        if let seconds {
            Task {
                try? await Task.sleep(nanoseconds: UInt64(seconds.seconds * 1e9)); end.yield(ExitStatus.success)
            }
        }
        Task {
            do throws(KubeAPIError) {
                try await watch.run()
            } catch {
                writeStderr("kube-watch: \(error.description) (\(access.source))\n")
                end.yield(ExitStatus.refused)
            }
        }
        var status = ExitStatus.success
        for await first in ends {
            status = first
            break
        }
        signals.cancel()
        // Not awaited: the open watches end with the process.
        Task.detached { await client.shutdown() }
        if case .failed(let errno) = out.finish() {
            writeStderr("kube-watch: stdout: cannot write: \(BackgroundWriter.describe(errno))\n")
            throw ExitCode(ExitStatus.failure)
        }
        if status != ExitStatus.success { throw ExitCode(status) }
    }
}

/// The `kube-watch` command line, for its own executable and for the multi-call `infer-sim`.
public enum KubeWatchMain {
    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(KubeWatch.self, arguments: arguments)
    }
}
