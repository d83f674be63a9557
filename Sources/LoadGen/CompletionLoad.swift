import JSON
import NIOCore
import Platform

/// What `--api openai` sends: completions or chat completions of a model, each with a
/// prompt and a `max_tokens` drawn from their distributions (repeatable for a seed),
/// streamed or not. Every request differs, so each is encoded when it is sent.
public struct CompletionLoad: Sendable {
    public enum Endpoint: Sendable { case chat, completions }
    public var endpoint: Endpoint
    public var model: String
    public var promptTokens: TokenCount
    public var maxTokens: TokenCount
    public var stream: Bool
    public var seed: UInt64

    public init(
        endpoint: Endpoint, model: String, promptTokens: TokenCount, maxTokens: TokenCount, stream: Bool, seed: UInt64
    ) {
        self.endpoint = endpoint
        self.model = model
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.stream = stream
        self.seed = seed
    }

    /// The endpoint a path names (`/v1/completions` → completions; else chat).
    public static func endpoint(forPath path: String) -> Endpoint {
        path.hasSuffix("/completions") && !path.hasSuffix("/chat/completions") ? .completions : .chat
    }

    /// Words of at most eight letters: each one token as infer-serve (and most
    /// tokenizers) count them, so a prompt of N words is N tokens.
    static let words = [
        "the", "model", "reads", "a", "long", "prompt", "about", "pods", "that", "scale", "when", "load",
        "grows", "and", "shrink", "after", "it", "falls", "each", "token", "costs", "time", "on", "cpu",
    ]

    /// Request `seq`'s JSON body.
    public func body(seq: Int) -> [UInt8] {
        var random = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(seq))
        let n = promptTokens.draw(&random), max = maxTokens.draw(&random)
        var prompt = ""
        prompt.reserveCapacity(n * 6)
        for i in 0..<n {
            if i > 0 { prompt += " " }
            prompt += Self.words[Int(random.next() % UInt64(Self.words.count))]
        }
        let o = JSONObject()
        o.set("model", .string(model))
        switch endpoint {
        case .completions:
            o.set("prompt", .string(prompt))
        case .chat:
            let message = JSONObject()
            message.set("role", .string("user"))
            message.set("content", .string(prompt))
            o.set("messages", objects: [message])
        }
        o.set("max_tokens", .integer(max))
        // Greedy and seeded, so a run can be repeated token for token.
        o.set("temperature", .integer(0))
        o.set("seed", .integer(seq))
        if stream {
            o.set("stream", .bool(true))
            let options = JSONObject()
            options.set("include_usage", .bool(true))
            o.set("stream_options", object: options)
        }
        return o.serialized()
    }

    /// Request `seq` on the wire: the head (its fixed part made once, `head`) with this
    /// body's length, and the body.
    func request(head: [UInt8], seq: Int) -> ByteBuffer {
        let body = body(seq: seq)
        var bytes = ByteBuffer()
        bytes.reserveCapacity(head.count + body.count + 32)
        bytes.writeBytes(head)
        bytes.writeString("Content-Length: \(body.count)\r\n\r\n")
        bytes.writeBytes(body)
        return bytes
    }
}

/// A count of tokens per request: `N`, or `MIN:MAX` drawn uniformly (inclusive).
public struct TokenCount: Sendable, Equatable {
    public let low: Int
    public let high: Int

    public init(_ text: String, flag: String) throws(ParseError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let low = Int(parts[0]), let high = Int(parts.last!), low >= 1, low <= high,
            high <= 1_000_000
        else {
            throw ParseError("--\(flag) \(text): expected N or MIN:MAX tokens, from 1")
        }
        self.low = low
        self.high = high
    }

    func draw(_ random: inout SplitMix64) -> Int {
        low == high ? low : low + Int(random.next() % UInt64(high - low + 1))
    }
}
