import HTTPTypes
import InferModel
import JSON

/// An error in the OpenAI API's shape: `{"error": {"message", "type", "param", "code"}}`.
struct APIError: Error, Equatable {
    let status: HTTPResponse.Status
    let message: String
    var type = "invalid_request_error"
    var param: String?
    var code: String?

    static func invalid(_ param: String, _ message: String) -> APIError {
        APIError(status: .badRequest, message: message, param: param)
    }

    var body: [UInt8] {
        let error = JSONObject()
        error.set("message", .string(message))
        error.set("type", .string(type))
        error.set("param", param.map { .string($0) } ?? .null)
        error.set("code", code.map { .string($0) } ?? .null)
        let object = JSONObject()
        object.set("error", object: error)
        return object.serialized()
    }
}

/// A request to `/v1/completions` or `/v1/chat/completions`: the fields clients send
/// (others ignored, as the API's servers do), checked as the API checks them.
struct CompletionRequest: Equatable {
    enum Kind: Equatable { case completion, chat }
    let kind: Kind
    let model: String
    /// What the model conditions on (the prompt, or the messages' contents), and what
    /// the prompt costs in tokens (PromptTokens).
    var prompt: [UInt8] = []
    var promptTokens = 0
    var maxTokens: Int
    var stream = false
    var includeUsage = false
    var temperature = 1.0
    var seed: UInt64?
    var stop: [String] = []

    /// The completions endpoint's documented default; chat's is the server's largest.
    static let completionDefaultMaxTokens = 16

    static func parse(
        _ bytes: UnsafeRawBufferPointer, kind: Kind, servedModel: String, largest: Int
    ) throws(APIError) -> CompletionRequest {
        let body: JSONObject
        do { body = try JSONObject(parsing: bytes) } catch {
            throw APIError(
                status: .badRequest, message: "We could not parse the JSON body of your request: \(error.description)")
        }
        guard case .string(let model) = body["model"] else {
            throw .invalid("model", "you must provide a model parameter")
        }
        guard model == servedModel else {
            throw APIError(
                status: .notFound, message: "The model `\(model)` does not exist.", param: "model",
                code: "model_not_found")
        }
        var request = CompletionRequest(
            kind: kind, model: model,
            maxTokens: kind == .completion ? min(completionDefaultMaxTokens, largest) : largest)
        switch kind {
        case .completion: try request.readPrompt(body)
        case .chat: try request.readMessages(body)
        }
        let key = kind == .chat && body["max_completion_tokens"] != .missing ? "max_completion_tokens" : "max_tokens"
        switch body[key] {
        case .missing, .null: break
        case .integer(let n) where n >= 1 && n <= largest: request.maxTokens = n
        default: throw .invalid(key, "\(key) must be an integer from 1 to \(largest)")
        }
        try request.readSampling(body)
        try request.readStop(body)
        return request
    }

    /// stream, stream_options, temperature, seed and n.
    private mutating func readSampling(_ body: JSONObject) throws(APIError) {
        stream = try Self.flag(body, "stream")
        if let options = body.object("stream_options") {
            includeUsage = try Self.flag(options, "include_usage", param: "stream_options.include_usage")
        } else if body["stream_options"] != .missing && body["stream_options"] != .null {
            throw .invalid("stream_options", "stream_options must be an object")
        }
        switch body["temperature"] {
        case .missing, .null: break
        case let value:
            guard let t = value.number, t >= 0, t <= 2 else {
                throw .invalid("temperature", "temperature must be a number from 0 to 2")
            }
            temperature = t
        }
        switch body["seed"] {
        case .missing, .null: break
        case .integer(let s): seed = UInt64(bitPattern: Int64(s))
        default: throw .invalid("seed", "seed must be an integer")
        }
        switch body["n"] {
        case .missing, .null, .integer(1): break
        case .integer: throw .invalid("n", "n must be 1: one choice per request")
        default: throw .invalid("n", "n must be an integer")
        }
    }

    private static func flag(_ object: JSONObject, _ key: String, param: String? = nil) throws(APIError) -> Bool {
        switch object[key] {
        case .missing, .null: return false
        case .bool(let b): return b
        default: throw .invalid(param ?? key, "\(param ?? key) must be a boolean")
        }
    }

    /// `prompt`: a string, an array of one string, or an array of token ids.
    private mutating func readPrompt(_ body: JSONObject) throws(APIError) {
        switch body["prompt"] {
        case .string(let text):
            prompt = Array(text.utf8)
            promptTokens = PromptTokens.count(text)
        case .nested:
            guard let items = body.array("prompt"), !items.isEmpty else {
                throw .invalid("prompt", "prompt must not be empty")
            }
            if items.count == 1, case .string(let text) = items[0] {
                prompt = Array(text.utf8)
                promptTokens = PromptTokens.count(text)
            } else if items.allSatisfy({ if case .integer = $0 { return true } else { return false } }) {
                prompt = items.flatMap { value -> [UInt8] in
                    guard case .integer(let id) = value else { return [] }
                    return withUnsafeBytes(of: Int64(id).littleEndian, Array.init)
                }
                promptTokens = items.count
            } else {
                throw .invalid("prompt", "prompt must be a string, an array of one string, or an array of token ids")
            }
        case .missing, .null: throw .invalid("prompt", "you must provide a prompt")
        default: throw .invalid("prompt", "prompt must be a string, an array of one string, or an array of token ids")
        }
    }

    /// `messages`: objects with a `role` and a `content` that is a string or text parts.
    private mutating func readMessages(_ body: JSONObject) throws(APIError) {
        guard let items = body.array("messages") else { throw .invalid("messages", "you must provide messages") }
        let messages = body.objects("messages")
        guard !items.isEmpty, messages.count == items.count else {
            throw .invalid("messages", "messages must be a non-empty array of objects")
        }
        var texts: [String] = []
        for (i, message) in messages.enumerated() {
            guard case .string(let role) = message["role"],
                ["system", "developer", "user", "assistant", "tool", "function"].contains(role)
            else {
                throw .invalid(
                    "messages.[\(i)].role",
                    "messages.[\(i)].role must be one of system, developer, user, assistant, tool")
            }
            switch message["content"] {
            case .string(let text): texts.append(text)
            case .null where role == "assistant": texts.append("")
            case .nested:
                let parts = message.objects("content")
                guard parts.count == message.array("content")?.count else {
                    throw .invalid("messages.[\(i)].content", "messages.[\(i)].content parts must be objects")
                }
                var text = ""
                for part in parts {
                    // Images and audio cost nothing here.
                    guard case .string(let piece) = part["text"] else { continue }
                    text += (text.isEmpty ? "" : "\n") + piece
                }
                texts.append(text)
            default:
                throw .invalid(
                    "messages.[\(i)].content", "messages.[\(i)].content must be a string or an array of parts")
            }
            prompt += Array(role.utf8) + [0x0A] + Array(texts.last!.utf8) + [0x0A]
        }
        promptTokens = PromptTokens.count(messages: texts)
    }

    /// `stop`: a string or up to four strings.
    private mutating func readStop(_ body: JSONObject) throws(APIError) {
        switch body["stop"] {
        case .missing, .null: return
        case .string(let s): stop = s.isEmpty ? [] : [s]
        case .nested:
            guard let items = body.array("stop"), items.count <= 4 else {
                throw .invalid("stop", "stop must be a string or up to 4 strings")
            }
            for item in items {
                guard case .string(let s) = item else {
                    throw .invalid("stop", "stop must be a string or up to 4 strings")
                }
                if !s.isEmpty { stop.append(s) }
            }
        default: throw .invalid("stop", "stop must be a string or up to 4 strings")
        }
    }
}
