import InferModel
import Platform

/// One completion's decoding, token by token on the compute pool: the prompt's prefill
/// with the first token, then one step per token, each a separate piece of pool work so
/// concurrent generations interleave. Stops at `max_tokens` (finish "length") or where
/// the text reaches a stop sequence (finish "stop", the text cut before it).
struct Generation {
    let request: CompletionRequest
    let workload: Workload
    let pool: ComputePool
    private var decoder: Model.Decoder
    private let tokenNanos: UInt64
    private let prefillNanos: UInt64
    /// The text so far (up to a stop sequence), the tokens made, and why it ended.
    private(set) var text = ""
    private(set) var tokens = 0
    private(set) var finish: String?
    private(set) var cpuSeconds = 0.0
    /// Bytes of `text` handed out so far.
    private var sent = 0
    private let longestStop: Int

    init(request: CompletionRequest, workload: Workload, pool: ComputePool, config: ServerConfig) {
        self.request = request
        self.workload = workload
        self.pool = pool
        decoder = Model.Decoder(model: workload.model, input: request.prompt, seed: request.seed ?? 0, temperature: request.temperature)
        // One cost factor per request (as /infer's jitter), spread over its prefill and tokens.
        var rng = SystemRandomNumberGenerator()
        let factor = Jitter(sigma: config.jitter).factor(using: &rng)
        tokenNanos = UInt64(config.workMs * factor * 1e6)
        prefillNanos = UInt64(Double(request.promptTokens) * config.prefillMs * factor * 1e6)
        longestStop = request.stop.map(\.utf8.count).max() ?? 0
    }

    /// The text the next token releases (empty while it may be the start of a stop
    /// sequence, or when one swallowed it), or nil when done.
    mutating func next() async throws -> String? {
        guard finish == nil else { return nil }
        let (first, prefill, each, current) = (tokens == 0, prefillNanos, tokenNanos, decoder)
        let workload = self.workload
        let (advanced, token, cpu) = try await pool.step { () -> (Model.Decoder, Int, Double) in
            var d = current
            let prefillCPU = first ? workload.prefill(&d, cpuBudgetNanos: prefill) : 0
            let (token, cpu) = workload.step(&d, cpuBudgetNanos: each)
            return (d, token, cpu + prefillCPU)
        }
        decoder = advanced
        tokens += 1
        cpuSeconds += cpu
        let before = text.utf8.count
        text += Model.piece(token)
        if tokens >= request.maxTokens { finish = "length" }
        guard longestStop > 0 else { return release(upTo: text.utf8.count) }
        // Only the end of the text can hold a stop sequence that was not there before.
        let all = Array(text.utf8)
        let hits = request.stop.compactMap { Self.find(Array($0.utf8), in: all, from: max(0, before - longestStop + 1)) }
        if let cut = hits.min() {
            text = String(decoding: all[..<cut], as: UTF8.self)
            finish = "stop"
            return release(upTo: cut)
        }
        // Text that may be the start of a stop sequence is held back until it is not.
        let held = finish == nil ? request.stop.map { Self.overlap(all, $0) }.max() ?? 0 : 0
        return release(upTo: all.count - held)
    }

    /// The text from what was sent so far up to byte `end`, now sent.
    private mutating func release(upTo end: Int) -> String {
        let bytes = Array(text.utf8)
        let piece = String(decoding: bytes[min(sent, end)..<end], as: UTF8.self)
        sent = max(sent, end)
        return piece
    }

    /// The longest end of `text` that is the start of `stop` (shorter than it).
    static func overlap(_ text: [UInt8], _ stop: String) -> Int {
        let s = Array(stop.utf8)
        for length in stride(from: min(s.count - 1, text.count), to: 0, by: -1) where text[(text.count - length)...].elementsEqual(s[..<length]) {
            return length
        }
        return 0
    }

    /// Where `needle` first occurs in `haystack` at or after `from`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        for i in from...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }
}
