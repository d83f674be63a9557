#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import InferModel
import Platform
import Logging
import NIOCore
import ServiceLifecycle

/// infer-serve as a library: builds the application a test can run in-process, and
/// runs it with calibration, signal handling and draining for the executable.
public struct InferServer: Sendable {
    public static let version = ToolVersion.current

    public let config: ServerConfig
    public let state = ServerState()
    public let pool: ComputePool
    public let metrics: ServerMetrics
    let slots: GenerationSlots
    public let pod: String
    let logger: Logger

    /// `environment` supplies POD_NAME (the replica name in responses; else the hostname).
    public init(config: ServerConfig, logger: Logger, environment: [String: String]) {
        self.config = config
        self.logger = logger
        let workers =
            config.workers > 0
            ? config.workers
            : CPUQuota.workers(quota: CPUQuota.detect(), cores: CPUQuota.onlineCores())
        pool = ComputePool(workers: workers, maxQueue: config.maxQueue)
        slots = GenerationSlots(maxRunning: config.maxBatch, maxWaiting: config.maxQueue)
        metrics = ServerMetrics(version: InferServer.version, modelName: config.modelName)
        pod = environment["POD_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? InferServer.hostname()
    }

    /// The HTTP application: routes, middleware and the calibration service. Port 0 in
    /// the configuration binds a free port (tests read it from `onServerRunning`).
    public func buildApplication(
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: ServerMiddleware(metrics: metrics, pod: pod, accessLog: config.accessLog ? logger : nil))
        let ids = RequestIDs()
        let routes = InferRoutes(
            config: config, state: state, pool: pool, metrics: metrics, pod: pod, ids: ids, slots: slots)
        routes.register(on: router)
        OpenAIRoutes(
            config: config, state: state, steps: TokenSteps(pool: pool), slots: slots, metrics: metrics,
            generation: metrics.generation!, ids: ids
        )
        .register(on: router)
        let (metrics, pod, logger) = (self.metrics, self.pod, self.logger)
        let idle = Duration.milliseconds(Int64(config.idleTimeout * 1000))
        // Built per connection (the handlers are evaluated for each new channel).
        // `Connection: close` has no meaning in HTTP/2, so a connection age is for HTTP/1.1 alone.
        let maxAge = config.tlsCert.isEmpty && !config.h2c ? config.maxConnectionAge : 0
        @Sendable func age() -> [any RemovableChannelHandler] {
            maxAge > 0 ? [ConnectionAge(maxAgeSeconds: maxAge)] : []
        }
        let http1: HTTP1Channel.Configuration
        if config.accessLog {
            // With an access log every request goes through the middleware that writes it.
            http1 = .init(
                additionalChannelHandlers: age(), idleTimeout: .milliseconds(Int64(config.idleTimeout * 1000)))
        } else {
            // Probes answered in the pipeline; the idle timer moves in front of them so it
            // sees every request (Hummingbird's own, behind them, would not).
            http1 = .init(
                additionalChannelHandlers: [HTTPConnectionStateHandler(idleTimeout: idle, logger: logger)] + age() + [
                    ProbeFastPath(answer: { routes.probe($0) }, metrics: metrics, pod: pod)
                ],
                idleTimeout: nil)
        }
        let server: HTTPServerBuilder
        if let tls = try ServerTLS.configuration(config) {
            // HTTP/2 by ALPN, HTTP/1.1 for clients that do not offer it; each HTTP/2
            // stream gets the same handlers (probes stay in the pipeline on both).
            server = try .http2Upgrade(
                tlsConfiguration: tls, configuration: .init(idleTimeout: idle, streamConfiguration: http1))
        } else if config.h2c {
            server = .plaintextHTTP2(configuration: .init(idleTimeout: idle, streamConfiguration: http1))
        } else {
            server = .http1(configuration: http1)
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil),
            services: [CalibrationService(state: state, pool: pool, logger: logger)],
            onServerRunning: onServerRunning,
            logger: logger
        )
    }

    /// Runs until SIGTERM/SIGINT, then: /readyz turns 503, the listener closes,
    /// in-flight requests finish (at most `drainSeconds`), and it returns.
    public func run() async throws {
        logger.info(
            "starting",
            metadata: Logger.Metadata(
                uniqueKeysWithValues: (config.summary + [
                    ("compute_workers", String(pool.workers)), ("pod", pod), ("version", InferServer.version),
                ])
                .map { ($0.0, Logger.MetadataValue.string($0.1)) }))
        if config.maxConnectionAge > 0, !config.tlsCert.isEmpty || config.h2c {
            logger.warning(
                "max-connection-age has no effect with TLS or h2c: it closes plain HTTP/1.1 connections only")
        }
        let app = try buildApplication { channel in
            logger.info("listening", metadata: ["address": .string(channel.localAddress?.description ?? "?")])
        }
        var groupConfig = ServiceGroupConfiguration(
            // Services shut down in reverse order: the drain flag flips before the server stops listening.
            services: [.init(service: app), .init(service: DrainSignalService(state: state, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfig.maximumGracefulShutdownDuration = .milliseconds(Int64(config.drainSeconds * 1000))
        groupConfig.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: groupConfig).run()
        await pool.shutdown()
        logger.info("stopped")
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Calibrates the model on a compute thread after the listener is up (so /healthz
/// answers at once and /readyz says "calibrating"), then idles until shutdown.
struct CalibrationService: Service {
    let state: ServerState
    let pool: ComputePool
    let logger: Logger

    func run() async throws {
        let (workload, _) = try await pool.run {
            let model = Model()
            return Workload(model: model, calibration: .measure(model: model))
        }
        state.calibrated(workload)
        logger.info("calibrated", metadata: ["passes_per_ms": .stringConvertible(workload.calibration.passesPerMs)])
        try? await gracefulShutdown()
    }
}

/// Flips readiness to draining on the first shutdown signal.
struct DrainSignalService: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.beginDrain()
        logger.info("draining")
    }
}
