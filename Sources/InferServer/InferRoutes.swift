import HTTPTypes
import Hummingbird
import InferModel
import JSON
import Logging
import NIOCore
import Synchronization

/// The routes: /infer, /healthz, /readyz, /metrics. Other methods on these paths are
/// 405 (with `Allow`), other paths 404; every error body is `{"error": …}`.
struct InferRoutes: Sendable {
    let config: ServerConfig
    let state: ServerState
    let pool: ComputePool
    let metrics: ServerMetrics
    let pod: String
    let ids: RequestIDs
    let slots: GenerationSlots

    /// Routes with the methods they allow; the metrics label for any other path is "other".
    static let allowed: [(path: String, methods: [HTTPRequest.Method])] =
        [
            ("/infer", [.get, .post]), ("/healthz", [.get]), ("/readyz", [.get]), ("/metrics", [.get]),
        ] + OpenAIRoutes.routes

    func register(on router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in Self.json(.ok, Self.healthBuffer) }
        router.get("/readyz") { _, _ in readyz() }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(pool: pool, slots: slots))))
        }
        router.get("/infer") { request, _ in
            try await infer(
                input: request.uri.queryParameters.get("input").map { Array($0.utf8) } ?? [],
                tokens: request.uri.queryParameters.get("tokens"))
        }
        router.post("/infer") { request, _ in
            let body = try await request.body.collect(upTo: config.maxBody)
            guard body.readableBytes > 0 else { return try await infer(input: [], tokens: nil) }
            let parsed: (input: [UInt8], tokens: String?)
            do { parsed = try Self.parseBody(body) } catch { return Self.error(.badRequest, String(describing: error)) }
            return try await infer(input: parsed.input, tokens: parsed.tokens)
        }
        let all: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .options]
        for route in Self.allowed {
            let allow = route.methods.map(\.rawValue).joined(separator: ", ")
            for method in all where !route.methods.contains(method) {
                router.on(RouterPath(route.path), method: method) { _, _ -> Response in
                    throw HTTPError(
                        .methodNotAllowed, headers: [.allow: allow], message: "method not allowed; use \(allow)")
                }
            }
        }
    }

    func readyz() -> Response {
        let (status, body, retryAfter) = probe("/readyz")!
        return Self.json(status, body, retryAfter: retryAfter)
    }

    /// The probes' answers, shared by the routes and `ProbeFastPath`.
    func probe(_ path: String) -> (status: HTTPResponse.Status, body: ByteBuffer, retryAfter: Bool)? {
        switch path {
        case "/healthz": return (.ok, Self.healthBuffer, false)
        case "/readyz":
            switch state.readiness {
            case .ready: return (.ok, Self.readyBuffer, false)
            case .calibrating: return (.serviceUnavailable, Self.calibratingBuffer, true)
            case .draining: return (.serviceUnavailable, Self.drainingBuffer, false)
            }
        default: return nil
        }
    }

    static let healthBuffer = ByteBuffer(bytes: healthBody)
    static let readyBuffer = ByteBuffer(bytes: readyBody)
    static let calibratingBuffer = ByteBuffer(bytes: calibratingBody)
    static let drainingBuffer = ByteBuffer(bytes: drainingBody)

    struct BodyError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads `{"input": string, "tokens": int}`, both optional.
    static func parseBody(_ body: ByteBuffer) throws(BodyError) -> (input: [UInt8], tokens: String?) {
        let object: JSONObject
        do {
            object = try body.withUnsafeReadableBytes { raw throws(JSONParseError) in try JSONObject(parsing: raw) }
        } catch {
            throw BodyError(description: "malformed JSON body: \(error.description)")
        }
        var input: [UInt8] = []
        switch object["input"] {
        case .string(let s): input = Array(s.utf8)
        case .missing, .null: break
        default: throw BodyError(description: "\"input\" must be a string")
        }
        switch object["tokens"] {
        case .integer(let i): return (input, String(i))
        case .missing, .null: return (input, nil)
        default: throw BodyError(description: "\"tokens\" must be an integer")
        }
    }

    func infer(input: [UInt8], tokens tokensText: String?) async throws -> Response {
        guard let workload = state.currentWorkload else {
            return Self.error(.serviceUnavailable, "calibrating; retry shortly", retryAfter: true)
        }
        var tokens = config.defaultTokens
        if let tokensText {
            guard let t = Int(tokensText), (1...config.maxTokens).contains(t) else {
                return Self.error(.badRequest, "\"tokens\" must be an integer from 1 to \(config.maxTokens)")
            }
            tokens = t
        }
        var rng = SystemRandomNumberGenerator()
        let factor = Jitter(sigma: config.jitter).factor(using: &rng)
        let budget = workload.budgetNanos(tokens: tokens, workMs: config.workMs, costFactor: factor)
        let count = tokens
        let result: Workload.Result
        let queuedNanos: UInt64
        do {
            (result, queuedNanos) = try await pool.run {
                workload.run(input: input, tokens: count, cpuBudgetNanos: budget)
            }
        } catch is ComputePool.Full {
            metrics.recordShed()
            return Self.error(
                .serviceUnavailable, "overloaded: \(pool.workers) workers busy and \(pool.maxQueue) queued",
                retryAfter: true)
        }
        metrics.recordWork(cpuSeconds: result.cpuSeconds)
        // Injected failures still cost the work: a model that fails has already run.
        if config.errorRate > 0, Double.random(in: 0..<1, using: &rng) < config.errorRate {
            return Self.error(.internalServerError, "injected failure (--error-rate)")
        }
        let object = JSONObject()
        object.set("id", .string(ids.next()))
        object.set("pod", .string(pod))
        object.set("model", .string(Model.name))
        object.set("tokens", .integer(tokens))
        object.set("output", .string(result.text))
        object.set("compute_ms", .real(Self.milli(result.computeMs)))
        object.set("queue_ms", .real(Self.milli(Double(queuedNanos) / 1e6)))
        return Self.json(.ok, object.serialized(realPrecision: 12))
    }

    static func milli(_ ms: Double) -> Double { (ms * 1000).rounded() / 1000 }

    static let healthBody = Array(#"{"status":"ok"}"#.utf8)
    static let readyBody = Array(#"{"status":"ready"}"#.utf8)
    static let calibratingBody = Array(#"{"status":"calibrating"}"#.utf8)
    static let drainingBody = Array(#"{"status":"draining"}"#.utf8)

    static func json(_ status: HTTPResponse.Status, _ body: [UInt8], retryAfter: Bool = false) -> Response {
        json(status, ByteBuffer(bytes: body), retryAfter: retryAfter)
    }

    static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer, retryAfter: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if retryAfter { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, retryAfter: Bool = false) -> Response {
        let object = JSONObject()
        object.set("error", .string(message))
        return json(status, object.serialized(), retryAfter: retryAfter)
    }
}

/// Response ids: a random per-process prefix and a counter, unique across replicas
/// without coordination.
final class RequestIDs: Sendable {
    private let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    private let counter = Atomic<UInt64>(0)

    func next() -> String {
        prefix + "-" + String(counter.add(1, ordering: .relaxed).newValue, radix: 16)
    }
}
