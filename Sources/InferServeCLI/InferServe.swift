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
            POST /v1/completions and /v1/chat/completions speak the OpenAI API, streamed with stream: true, \
            each token costing --work-ms on the same compute threads; GET /v1/models lists --model-name. \
            Every option is also read from the environment variable shown; a flag wins.
            """,
        version: InferServer.version
    )

    @Option(help: ArgumentHelp(ServerConfig.help("host"))) var host: String?
    @Option(help: ArgumentHelp(ServerConfig.help("port"))) var port: String?
    @Option(name: .customLong("work-ms"), help: ArgumentHelp(ServerConfig.help("work-ms"))) var workMs: String?
    @Option(help: ArgumentHelp(ServerConfig.help("tokens"))) var tokens: String?
    @Option(name: .customLong("max-tokens"), help: ArgumentHelp(ServerConfig.help("max-tokens"))) var maxTokens: String?
    @Option(help: ArgumentHelp(ServerConfig.help("jitter"))) var jitter: String?
    @Option(name: .customLong("error-rate"), help: ArgumentHelp(ServerConfig.help("error-rate"))) var errorRate: String?
    @Option(help: ArgumentHelp(ServerConfig.help("workers"))) var workers: String?
    @Option(name: .customLong("max-queue"), help: ArgumentHelp(ServerConfig.help("max-queue"))) var maxQueue: String?
    @Option(name: .customLong("model-name"), help: ArgumentHelp(ServerConfig.help("model-name"))) var modelName: String?
    @Option(name: .customLong("prefill-ms"), help: ArgumentHelp(ServerConfig.help("prefill-ms"))) var prefillMs: String?
    @Option(name: .customLong("max-batch"), help: ArgumentHelp(ServerConfig.help("max-batch"))) var maxBatch: String?
    @Option(name: .customLong("max-body"), help: ArgumentHelp(ServerConfig.help("max-body"))) var maxBody: String?
    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp(ServerConfig.help("idle-timeout"), valueName: "duration"))
    var idleTimeout: String?
    @Option(
        name: .customLong("max-connection-age"),
        help: ArgumentHelp(ServerConfig.help("max-connection-age"), valueName: "duration"))
    var maxConnectionAge: String?
    @Option(
        name: .customLong("drain-seconds"),
        help: ArgumentHelp(ServerConfig.help("drain-seconds"), valueName: "duration"))
    var drainSeconds: String?
    @Option(name: .customLong("log-level"), help: ArgumentHelp(ServerConfig.help("log-level"))) var logLevel: String?
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp(ServerConfig.help("tls-cert"))) var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: ArgumentHelp(ServerConfig.help("tls-key"))) var tlsKey: String?
    @Option(name: .customLong("tls-client-ca"), help: ArgumentHelp(ServerConfig.help("tls-client-ca"))) var tlsClientCA:
        String?
    @Flag(name: .customLong("h2c"), inversion: .prefixedNo, help: ArgumentHelp(ServerConfig.help("h2c"))) var h2c: Bool?
    @Flag(name: .customLong("access-log"), inversion: .prefixedNo, help: ArgumentHelp(ServerConfig.help("access-log")))
    var accessLog: Bool?

    func flags() -> [String: String] {
        var flags: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("host", host), ("port", port), ("work-ms", workMs), ("tokens", tokens), ("max-tokens", maxTokens),
            ("jitter", jitter), ("error-rate", errorRate), ("workers", workers), ("max-queue", maxQueue),
            ("model-name", modelName), ("prefill-ms", prefillMs), ("max-batch", maxBatch), ("max-body", maxBody),
            ("idle-timeout", idleTimeout), ("max-connection-age", maxConnectionAge),
            ("drain-seconds", drainSeconds),
            ("log-level", logLevel), ("access-log", accessLog.map { String($0) }),
            ("tls-cert", tlsCert), ("tls-key", tlsKey), ("tls-client-ca", tlsClientCA), ("h2c", h2c.map { String($0) }),
        ]
        for (name, value) in pairs { if let value { flags[name] = value } }
        return flags
    }

    /// Every setting (durations among them) read as `run()` will read it: a bad flag or
    /// environment variable is a usage error before anything starts.
    func validate() throws {
        do { _ = try ServerConfig.resolve(flags: flags(), environment: ProcessEnvironment.current) } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let environment = ProcessEnvironment.current
        let config: ServerConfig
        do {
            config = try ServerConfig.resolve(flags: flags(), environment: environment)
            _ = try ServerTLS.configuration(config)  // unreadable files are a usage error, said before starting
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
        if ProcessEnvironment.current["INFER_DEBUG_EXECUTOR"] != nil {
            writeStderr("executor installed: \(installed)\n")
        }
    }

    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(InferServe.self, arguments: arguments)
    }
}
