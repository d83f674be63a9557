import InferModel
import Platform
import Synchronization

/// One completion's decoding, token by token on the compute pool: the prompt's prefill
/// with the first token, then one step per token, each a separate piece of pool work so
/// concurrent generations interleave. Stops at `max_tokens` (finish "length") or where
/// the text reaches a stop sequence (finish "stop", the text cut before it).
struct Generation {
    let request: CompletionRequest
    let workload: Workload
    let steps: TokenSteps
    private let decoder: DecoderState
    private let tokenNanos: UInt64
    private let prefillNanos: UInt64
    /// The text so far (up to a stop sequence), the tokens made, and why it ended.
    private var bytes: [UInt8] = []
    var text: String { String(decoding: bytes, as: UTF8.self) }
    private(set) var tokens = 0
    private(set) var finish: String?
    private(set) var cpuSeconds = 0.0
    /// Bytes of `text` handed out so far.
    private var sent = 0
    /// The stop sequences as bytes, made once: every token is checked against them.
    private let stops: [[UInt8]]
    private let longestStop: Int

    init(request: CompletionRequest, workload: Workload, steps: TokenSteps, config: ServerConfig) {
        self.request = request
        self.workload = workload
        self.steps = steps
        decoder = DecoderState(
            Model.Decoder(
                model: workload.model, input: request.prompt, seed: request.seed ?? 0,
                temperature: request.temperature))
        // One cost factor per request (as /infer's jitter), spread over its prefill and tokens.
        var rng = SystemRandomNumberGenerator()
        let factor = Jitter(sigma: config.jitter).factor(using: &rng)
        tokenNanos = UInt64(config.workMs * factor * 1e6)
        prefillNanos = UInt64(Double(request.promptTokens) * config.prefillMs * factor * 1e6)
        stops = request.stop.map { Array($0.utf8) }
        longestStop = stops.map(\.count).max() ?? 0
    }

    /// The text the next token releases (empty while it may be the start of a stop
    /// sequence, or when one swallowed it), or nil when done.
    mutating func next() async throws -> String? {
        guard finish == nil else { return nil }
        let (first, prefill, each, decoder, workload) = (
            tokens == 0, prefillNanos, tokenNanos, self.decoder, self.workload
        )
        @Sendable func step() -> (Int, Double) {
            decoder.value.withLock { value in
                let prefillCPU = first ? workload.prefill(&value, cpuBudgetNanos: prefill) : 0
                let (token, cpu) = workload.step(&value, cpuBudgetNanos: each)
                return (token, cpu + prefillCPU)
            }
        }
        // No model work (--work-ms 0, no prefill): nothing to move off this thread.
        let (token, cpu) = each == 0 && (!first || prefill == 0) ? step() : try await steps.run(step)
        tokens += 1
        cpuSeconds += cpu
        let before = bytes.count
        bytes += Model.piece(token).utf8
        if tokens >= request.maxTokens { finish = "length" }
        guard longestStop > 0 else { return release(upTo: bytes.count) }
        // Only the end of the text can hold a stop sequence that was not there before.
        let hits = stops.compactMap { Self.find($0, in: bytes, from: max(0, before - longestStop + 1)) }
        if let cut = hits.min() {
            bytes.removeSubrange(cut...)
            finish = "stop"
            return release(upTo: cut)
        }
        // Text that may be the start of a stop sequence is held back until it is not.
        let held = finish == nil ? stops.map { Self.overlap(bytes, $0) }.max() ?? 0 : 0
        return release(upTo: bytes.count - held)
    }

    /// The text from what was sent so far up to byte `end`, now sent.
    private mutating func release(upTo end: Int) -> String {
        let piece = String(decoding: bytes[min(sent, end)..<end], as: UTF8.self)
        sent = max(sent, end)
        return piece
    }

    /// The longest end of `text` that is the start of `stop` (shorter than it).
    static func overlap(_ text: [UInt8], _ stop: [UInt8]) -> Int {
        for length in stride(from: min(stop.count - 1, text.count), to: 0, by: -1)
        where text[(text.count - length)...].elementsEqual(stop[..<length]) {
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

/// A generation's model state, handed to one token step at a time on a compute thread;
/// shared, so a step does not copy it. Each step awaits the last, so the lock is never
/// contended: it is there so the compiler, not a comment, checks that no two threads
/// touch the state at once.
final class DecoderState: Sendable {
    let value: Mutex<Model.Decoder>
    init(_ value: Model.Decoder) { self.value = Mutex(value) }
}
