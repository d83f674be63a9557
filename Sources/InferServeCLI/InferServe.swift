import ArgumentParser
import InferServer
import NIOCore
import Logging
import NIOPosix
import ToolSupport
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// infer-serve: parse flags, resolve them over the environment, run the server.
struct InferServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer-serve",
        abstract: "Serve simulated ML inference that burns real CPU.",
        discussion: """
            POST /infer (or GET /infer) runs a small deterministic model forward pass that costs \
            --work-ms CPU milliseconds per token; /healthz, /readyz and /metrics (Prometheus) beside it. \
            Every option is also read from the environment variable shown; a flag wins.
            """,
        version: InferServer.version
    )

    @Option(help: "Address to listen on (INFER_HOST; default 0.0.0.0).") var host: String?
    @Option(help: "TCP port; 0 picks a free one (INFER_PORT; default 8080).") var port: String?
    @Option(name: .customLong("work-ms"), help: "CPU milliseconds of model work per token (INFER_WORK_MS; default 10).") var workMs: String?
    @Option(help: "Tokens per request when the request does not say (INFER_TOKENS; default 1).") var tokens: String?
    @Option(name: .customLong("max-tokens"), help: "Largest tokens a request may ask for (INFER_MAX_TOKENS; default 64).") var maxTokens: String?
    @Option(help: "Lognormal sigma of per-request cost, e.g. 0.3; 0 = none (INFER_JITTER; default 0).") var jitter: String?
    @Option(name: .customLong("error-rate"), help: "Fraction of /infer answered 500 on purpose, 0 to 1 (INFER_ERROR_RATE; default 0).") var errorRate: String?
    @Option(help: "Compute threads; 0 = from the cgroup CPU quota, else the cores (INFER_WORKERS; default 0).") var workers: String?
    @Option(name: .customLong("max-queue"), help: "Requests queued beyond busy workers before 503 (INFER_MAX_QUEUE; default 32).") var maxQueue: String?
    @Option(name: .customLong("max-body"), help: "Largest request body in bytes; more is 413 (INFER_MAX_BODY; default 1048576).") var maxBody: String?
    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle or stalled connection is closed (INFER_IDLE_TIMEOUT; default 30).") var idleTimeout: String?
    @Option(name: .customLong("max-connection-age"), help: "Seconds before a keep-alive connection is closed after its next response, so a Service rebalances clients; 0 = never (INFER_MAX_CONNECTION_AGE; default 0).") var maxConnectionAge: String?
    @Option(name: .customLong("drain-seconds"), help: "Seconds in-flight requests may take after SIGTERM (INFER_DRAIN_SECONDS; default 10).") var drainSeconds: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (INFER_LOG_LEVEL; default info).") var logLevel: String?
    @Flag(name: .customLong("access-log"), inversion: .prefixedNo, help: "Log one line per request (INFER_ACCESS_LOG; default off).") var accessLog: Bool?

    func flags() -> [String: String] {
        var flags: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("host", host), ("port", port), ("work-ms", workMs), ("tokens", tokens), ("max-tokens", maxTokens),
            ("jitter", jitter), ("error-rate", errorRate), ("workers", workers), ("max-queue", maxQueue),
            ("max-body", maxBody), ("idle-timeout", idleTimeout), ("max-connection-age", maxConnectionAge),
            ("drain-seconds", drainSeconds),
            ("log-level", logLevel), ("access-log", accessLog.map { String($0) }),
        ]
        for (name, value) in pairs { if let value { flags[name] = value } }
        return flags
    }

    func run() async throws {
        let environment = ProcessEnvironment.current
        let config: ServerConfig
        do {
            config = try ServerConfig.resolve(flags: flags(), environment: environment)
        } catch {
            writeStderr("infer-serve: \(error)\n")
            throw ExitCode(ExitStatus.usage)
        }
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "infer-serve")
        defer { JSONLogHandler.flush() }
        do {
            try await InferServer(config: config, logger: logger, environment: environment).run()
        } catch {
            logger.error("failed", metadata: ["error": .string(String(describing: error))])
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// The `infer-serve` command line, for its own executable and for the multi-call `infer-sim`.
public enum InferServeMain {
    /// Runs Swift concurrency on NIO's event loops: a request then never hops between the
    /// loop that read it and a separate cooperative pool (the costliest part of a cheap
    /// request). The model's work runs on its own compute threads, never on these.
    /// Call it from top-level code, before the first `await` (NIO requires that).
    public static func installExecutor() {
        let installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        if ProcessEnvironment.current["INFER_DEBUG_EXECUTOR"] != nil { writeStderr("executor installed: \(installed)\n") }
    }

    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(InferServe.self, arguments: arguments)
    }
}
