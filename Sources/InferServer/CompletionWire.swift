import JSON

/// One completion's answers in the OpenAI API's shapes: the whole response, or the
/// server-sent events of a stream (`data: {chunk}\n\n` … `data: [DONE]\n\n`).
struct CompletionWire {
    let kind: CompletionRequest.Kind
    let id: String
    let created: Int
    let model: String
    let includeUsage: Bool
    /// A token chunk's bytes around its text, made once per request: a stream's chunks
    /// differ only there, and a token's framing must cost microseconds, not a jansson
    /// tree per token.
    private let tokenPrefix: [UInt8]
    private let tokenSuffix: [UInt8]

    init(kind: CompletionRequest.Kind, id: String, created: Int, model: String, includeUsage: Bool) {
        self.kind = kind
        self.id = id
        self.created = created
        self.model = model
        self.includeUsage = includeUsage
        // U+0001 marks the text's place: jansson writes it as \u0001, found nowhere else.
        let template = Self.event(
            Self.chunk(
                kind: kind, id: id, created: created, model: model, includeUsage: includeUsage,
                text: "\u{1}", role: false, finish: nil))
        let marker = Array(#""\u0001""#.utf8)
        let at = template.indices.first { template[$0...].starts(with: marker) }!
        tokenPrefix = Array(template[..<at])
        tokenSuffix = Array(template[(at + marker.count)...])
    }

    var object: String { kind == .chat ? "chat.completion" : "text_completion" }

    /// The non-streamed response.
    func response(text: String, finish: String, promptTokens: Int, completionTokens: Int) -> [UInt8] {
        let choice = JSONObject()
        choice.set("index", .integer(0))
        if kind == .chat {
            let message = JSONObject()
            message.set("role", .string("assistant"))
            message.set("content", .string(text))
            message.set("refusal", .null)
            choice.set("message", object: message)
        } else {
            choice.set("text", .string(text))
        }
        choice.set("logprobs", .null)
        choice.set("finish_reason", .string(finish))
        let o = Self.head(id: id, object: object, created: created, model: model)
        o.set("choices", objects: [choice])
        o.set("usage", object: Self.usage(promptTokens, completionTokens))
        return o.serialized()
    }

    /// A stream's first event for chat: the assistant's role, no text yet.
    func roleEvent() -> [UInt8] {
        Self.event(
            Self.chunk(
                kind: kind, id: id, created: created, model: model, includeUsage: includeUsage, text: "", role: true,
                finish: nil))
    }

    /// One token's event.
    func tokenEvent(_ text: String, into buffer: inout [UInt8]) {
        buffer += tokenPrefix
        JSONText.appendString(text, to: &buffer)
        buffer += tokenSuffix
    }

    /// The last choice event, with its finish reason.
    func finishEvent(_ reason: String) -> [UInt8] {
        Self.event(
            Self.chunk(
                kind: kind, id: id, created: created, model: model, includeUsage: includeUsage, text: nil, role: false,
                finish: reason))
    }

    /// With `stream_options.include_usage`: the usage, in a chunk with no choices.
    func usageEvent(promptTokens: Int, completionTokens: Int) -> [UInt8] {
        let o = Self.head(
            id: id, object: kind == .chat ? "chat.completion.chunk" : "text_completion", created: created, model: model)
        o.set("choices", objects: [])
        o.set("usage", object: Self.usage(promptTokens, completionTokens))
        return Self.event(o)
    }

    static let done = Array("data: [DONE]\n\n".utf8)

    static func event(_ object: JSONObject) -> [UInt8] { Array("data: ".utf8) + object.serialized() + [0x0A, 0x0A] }

    static func head(id: String, object: String, created: Int, model: String) -> JSONObject {
        let o = JSONObject()
        o.set("id", .string(id))
        o.set("object", .string(object))
        o.set("created", .integer(created))
        o.set("model", .string(model))
        return o
    }

    static func usage(_ prompt: Int, _ completion: Int) -> JSONObject {
        let u = JSONObject()
        u.set("prompt_tokens", .integer(prompt))
        u.set("completion_tokens", .integer(completion))
        u.set("total_tokens", .integer(prompt + completion))
        return u
    }

    /// A stream chunk: for chat, `delta` holds the role (first), the text, or nothing
    /// (last, with the finish reason); for completions, `text`.
    static func chunk(
        kind: CompletionRequest.Kind, id: String, created: Int, model: String, includeUsage: Bool,
        text: String?, role: Bool, finish: String?
    ) -> JSONObject {
        let o = head(
            id: id, object: kind == .chat ? "chat.completion.chunk" : "text_completion", created: created, model: model)
        let choice = JSONObject()
        choice.set("index", .integer(0))
        if kind == .chat {
            let delta = JSONObject()
            if role { delta.set("role", .string("assistant")) }
            if let text { delta.set("content", .string(text)) }
            choice.set("delta", object: delta)
        } else {
            choice.set("text", .string(text ?? ""))
        }
        choice.set("logprobs", .null)
        choice.set("finish_reason", finish.map { .string($0) } ?? .null)
        o.set("choices", objects: [choice])
        // With include_usage, every chunk carries "usage": null but the last.
        if includeUsage { o.set("usage", .null) }
        return o
    }
}
