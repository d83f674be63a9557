import ArgumentParser
import Kube
import JSON
import ToolSupport
import Platform

#if canImport(Glibc)
import Glibc
#endif

extension WaitCondition: ExpressibleByArgument {}

/// kube-wait: block until Kubernetes objects are ready (or gone), with kubectl's rules.
struct KubeWait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube-wait",
        abstract: "Wait on the Kubernetes API until rollouts, HPA metrics, endpoints, pods or jobs are ready.",
        discussion: """
            Targets are TYPE/NAME: deployment, statefulset, daemonset (rolled out, with kubectl's \
            rollout-status rules), hpa (metrics available), service (--min-ready ready endpoints), \
            pod (Ready), job (complete); -l SELECTOR waits for the pods it matches. An object that \
            does not exist yet is waited for. Lists, then watches from the list's resourceVersion.
            """,
        version: ToolVersion.current
    )

    @Argument(help: ArgumentHelp("TYPE/NAME targets, e.g. deployment/web hpa/web.", valueName: "target")) var targets:
        [String] = []
    @Option(
        name: [.customShort("n"), .customLong("namespace")], help: "Namespace (default: the context's, else default).")
    var namespace: String?
    @Option(
        name: [.customShort("l"), .customLong("selector")],
        help: ArgumentHelp("Also wait for the pods this label selector matches.", valueName: "selector")) var selector:
        String?
    @Option(name: .customLong("for"), help: ArgumentHelp("ready or deleted.", valueName: "condition")) var condition:
        WaitCondition = .ready
    @Option(name: .customLong("min-ready"), help: ArgumentHelp("Ready endpoints a service needs.", valueName: "n"))
    var minReady = 1
    @Flag(
        name: .customLong("fail-fast"),
        help: "Fail when a pod of a rollout is stuck (ImagePullBackOff, CrashLoopBackOff, Unschedulable, ...).")
    var failFast = false
    @Flag(name: .customLong("fail-missing"), help: "Fail when a target does not exist, instead of waiting for it.")
    var failMissing = false
    @Option(help: ArgumentHelp("Give up after this long (e.g. 90s, 5m); exit 124.", valueName: "duration"))
    var timeout = DurationOption(argument: "5m")!
    @Option(
        help: ArgumentHelp("Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).", valueName: "file"))
    var kubeconfig: String?
    @Option(help: ArgumentHelp("Kubeconfig context (default: the current one).", valueName: "name")) var context:
        String?
    @Flag(help: "Write one JSON object per state change on stdout instead of progress lines on stderr.") var json =
        false

    func validate() throws {
        _ = try waitTargets()
        guard timeout.seconds > 0 else {
            throw ValidationError("--timeout \(timeout.text): expected a duration above 0, such as 90s or 5m")
        }
        guard minReady >= 0 else { throw ValidationError("--min-ready \(minReady): expected 0 or more") }
    }

    func waitTargets() throws -> [WaitTarget] {
        var parsed: [WaitTarget] = []
        do {
            parsed = try targets.map { (text: String) throws(KubeConfigError) -> WaitTarget in
                try WaitTarget.parse(text)
            }
        } catch {
            throw ValidationError(error.description)
        }
        if let selector { parsed.append(WaitTarget(kind: .pod, name: nil, selector: selector)) }
        guard !parsed.isEmpty else {
            throw ValidationError("nothing to wait for: give TYPE/NAME targets or -l SELECTOR")
        }
        return parsed
    }

    func run() async throws {
        let parsed = try waitTargets()
        let (access, client) = try ClusterConnection.open(kubeconfig: kubeconfig, context: context, tool: "kube-wait")
        var options = Waiter.Options(namespace: namespace ?? access.namespace)
        options.condition = condition
        options.minReady = minReady
        options.failFast = failFast
        options.failMissing = failMissing
        options.timeout = timeout.seconds

        LineWriter.ignoreSIGPIPE()
        let asJSON = json
        // Lines are handed over whole, so updates from several targets never interleave.
        let out = BackgroundWriter(fd: 1, whenFull: .wait)
        // What was printed stays printed; the wait itself is abandoned, as kubectl's is.
        _ = await ShutdownSignals.trap { signals, _ in
            _ = out.finish()
            Glibc.exit(signals.exitStatus ?? ExitStatus.interrupted)
        }
        let outcome = await Waiter(client: client, options: options).run(parsed) { update in
            if asJSON {
                var line = Self.jsonLine(update)
                out.submit(&line)
            } else {
                writeStderr(Self.textLines(update))
            }
        }
        // Not awaited: a graceful shutdown would wait for the server to end open watch
        // streams; the process exits now and the kernel closes them.
        Task.detached { await client.shutdown() }
        if case .failed(let errno) = out.finish() {
            writeStderr("kube-wait: stdout: cannot write: \(BackgroundWriter.describe(errno))\n")
            throw ExitCode(ExitStatus.failure)
        }
        switch outcome {
        case .done:
            return
        case .failed(let target, let message):
            writeStderr("kube-wait: \(target) failed: \(message)\n")
            throw ExitCode(ExitStatus.failure)
        case .timedOut(let waiting):
            writeStderr("kube-wait: timed out after \(timeout.text) waiting for \(waiting.joined(separator: ", "))\n")
            throw ExitCode(ExitStatus.timedOut)
        case .refused(let error):
            writeStderr("kube-wait: \(error.description) (\(access.source))\n")
            throw ExitCode(ExitStatus.refused)
        }
    }

    /// One `--json` line for an update.
    static func jsonLine(_ update: Waiter.Update) -> [UInt8] {
        let object = JSONObject()
        object.set("target", .string(update.target))
        switch update.readiness {
        case .waiting: object.set("state", .string("waiting"))
        case .done: object.set("state", .string("done"))
        case .failed: object.set("state", .string("failed"))
        }
        object.set("message", .string(update.readiness.message))
        object.set(
            "problems",
            objects: update.problems.map { problem in
                let p = JSONObject()
                p.set("pod", .string(problem.pod))
                p.set("reason", .string(problem.reason))
                p.set("message", .string(problem.message))
                return p
            })
        var line = object.serialized()
        line.append(0x0A)
        return line
    }

    /// The progress lines on stderr for an update.
    static func textLines(_ update: Waiter.Update) -> String {
        var text = "\(update.target): \(update.readiness.message)\n"
        for problem in update.problems {
            text += "  pod \(problem.pod): \(problem.reason)\(problem.message.isEmpty ? "" : ": \(problem.message)")\n"
        }
        return text
    }
}

/// The `kube-wait` command line, for its own executable and for the multi-call `infer-sim`.
public enum KubeWaitMain {
    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(KubeWait.self, arguments: arguments)
    }
}
