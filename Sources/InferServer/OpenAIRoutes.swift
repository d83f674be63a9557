import HTTPTypes
import Hummingbird
import InferModel
import JSON
import NIOCore
import Platform

/// The OpenAI-compatible face: `POST /v1/completions`, `POST /v1/chat/completions`
/// (whole or streamed as server-sent events) and `GET /v1/models`, on the same compute
/// pool as /infer, with vLLM's metrics.
struct OpenAIRoutes: Sendable {
    let config: ServerConfig
    let state: ServerState
    let steps: TokenSteps
    let slots: GenerationSlots
    let metrics: ServerMetrics
    let generation: GenerationMetrics
    let ids: RequestIDs
    /// When the server started (Unix s): the models' `created`.
    let started = CPUClock.wallWholeSeconds()

    static let routes: [(path: String, methods: [HTTPRequest.Method])] = [
        ("/v1/completions", [.post]), ("/v1/chat/completions", [.post]), ("/v1/models", [.get]),
    ]

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/models") { _, _ in models() }
        router.post("/v1/completions") { request, _ in try await complete(request, kind: .completion) }
        router.post("/v1/chat/completions") { request, _ in try await complete(request, kind: .chat) }
    }

    func models() -> Response {
        let model = JSONObject()
        model.set("id", .string(config.modelName))
        model.set("object", .string("model"))
        model.set("created", .integer(started))
        model.set("owned_by", .string("k8s-inference-sim"))
        let list = JSONObject()
        list.set("object", .string("list"))
        list.set("data", objects: [model])
        return InferRoutes.json(.ok, list.serialized())
    }

    static func error(_ error: APIError, retryAfter: Bool = false) -> Response {
        InferRoutes.json(error.status, error.body, retryAfter: retryAfter)
    }

    /// The request's body, in the API's terms, or the API's error.
    private func read(_ request: Request, kind: CompletionRequest.Kind) async -> Result<CompletionRequest, APIError> {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: config.maxBody) } catch {
            return .failure(APIError(status: .contentTooLarge, message: "request body over \(config.maxBody) bytes"))
        }
        do {
            return .success(
                try body.withUnsafeReadableBytes { raw throws(APIError) in
                    try CompletionRequest.parse(
                        raw, kind: kind, servedModel: config.modelName, largest: config.maxTokens)
                })
        } catch {
            return .failure(error)
        }
    }

    func complete(_ request: Request, kind: CompletionRequest.Kind) async throws -> Response {
        let arrived = CPUClock.monotonicNanos()
        guard let workload = state.currentWorkload else {
            return Self.error(
                APIError(status: .serviceUnavailable, message: "calibrating; retry shortly", type: "server_error"),
                retryAfter: true)
        }
        let parsed: CompletionRequest
        switch await read(request, kind: kind) {
        case .success(let request): parsed = request
        case .failure(let error): return Self.error(error)
        }
        let lease: GenerationSlots.Lease
        do { lease = try await slots.acquire() } catch {
            metrics.recordShed()
            return Self.error(
                APIError(
                    status: .serviceUnavailable,
                    message: "overloaded: \(slots.maxRunning) generating and \(slots.maxWaiting) waiting",
                    type: "server_error"), retryAfter: true)
        }
        generation.queued(nanoseconds: CPUClock.monotonicNanos() - arrived)
        let run = Generation(request: parsed, workload: workload, steps: steps, config: config)
        let wire = CompletionWire(
            kind: kind, id: (kind == .chat ? "chatcmpl-" : "cmpl-") + ids.next(),
            created: CPUClock.wallWholeSeconds(), model: config.modelName, includeUsage: parsed.includeUsage)
        guard parsed.stream else {
            defer { lease.release() }
            var finished = run
            var timing = TokenTiming(arrived: arrived, metrics: generation)
            while try await finished.next() != nil { timing.token() }
            account(finished, timing, reason: finished.finish ?? "length")
            return InferRoutes.json(
                .ok,
                wire.response(
                    text: finished.text, finish: finished.finish ?? "length",
                    promptTokens: parsed.promptTokens, completionTokens: finished.tokens))
        }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        // The body may never run (the client left before the head was written): the lease
        // gives the place back then too, when the response is dropped.
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { [self] writer in
                defer { lease.release() }
                try await stream(run, wire: wire, arrived: arrived, to: &writer)
            })
    }

    /// The events of a streamed completion, each written (and flushed) as its token is
    /// made. A write that fails means the client went away: the generation stops there.
    func stream(
        _ start: Generation, wire: CompletionWire, arrived: UInt64, to writer: inout any ResponseBodyWriter
    ) async throws {
        var run = start
        var timing = TokenTiming(arrived: arrived, metrics: generation)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(512)
        do {
            if wire.kind == .chat { try await writer.write(ByteBuffer(bytes: wire.roleEvent())) }
            while let piece = try await run.next() {
                timing.token()
                guard !piece.isEmpty else { continue }  // held back: it may start a stop sequence
                buffer.removeAll(keepingCapacity: true)
                wire.tokenEvent(piece, into: &buffer)
                try await writer.write(ByteBuffer(bytes: buffer))
            }
            var tail = wire.finishEvent(run.finish ?? "length")
            if wire.includeUsage {
                tail += wire.usageEvent(promptTokens: run.request.promptTokens, completionTokens: run.tokens)
            }
            tail += CompletionWire.done
            try await writer.write(ByteBuffer(bytes: tail))
            try await writer.finish(nil)
        } catch {
            account(run, timing, reason: "abort")
            throw error
        }
        account(run, timing, reason: run.finish ?? "length")
    }

    func account(_ run: Generation, _ timing: TokenTiming, reason: String) {
        metrics.recordWork(cpuSeconds: run.cpuSeconds)
        generation.prefilled(tokens: run.request.promptTokens)
        generation.finished(reason: reason, nanoseconds: CPUClock.monotonicNanos() - timing.arrived)
    }
}

/// A generation's token times, into vLLM's histograms as they happen.
struct TokenTiming {
    let arrived: UInt64
    let metrics: GenerationMetrics
    private var last: UInt64?

    init(arrived: UInt64, metrics: GenerationMetrics) {
        self.arrived = arrived
        self.metrics = metrics
    }

    mutating func token() {
        let now = CPUClock.monotonicNanos()
        if let last {
            metrics.interTokenGap(nanoseconds: now - last)
        } else {
            metrics.firstToken(nanoseconds: now - arrived)
        }
        metrics.generated()
        last = now
    }
}
