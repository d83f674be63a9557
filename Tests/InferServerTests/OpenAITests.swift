import Dispatch
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InferModel
@testable import InferServer
import JSON
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The OpenAI face on a live server: shapes field by field against the API reference's
/// examples, the SSE framing byte for byte, errors, shedding, disconnects, interleaving
/// and vLLM's metric names.
@Suite struct OpenAITests {
    static let model = "sim-mlp-2x128"

    static func post(_ client: any TestClientProtocol, _ path: String, _ body: String) async throws -> TestResponse {
        try await client.execute(
            uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    static func object(_ response: TestResponse) throws -> JSONObject {
        try JSONObject(parsing: Array(response.body.readableBytesView))
    }

    /// The text a greedy or seeded generation of `tokens` makes for this prompt, token by token.
    static func pieces(prompt: [UInt8], seed: UInt64, temperature: Double, tokens: Int) -> [String] {
        let model = Model()
        var decoder = Model.Decoder(model: model, input: prompt, seed: seed, temperature: temperature)
        return (0..<tokens).map { _ in Model.piece(decoder.next(model) { _ in false }) }
    }

    // The API reference's completions example: {"model": …, "prompt": "Say this is a test", "max_tokens": 7, "temperature": 0}.
    @Test func completionIsShapedAsTheAPIDocuments() async throws {
        try await LiveServerTests.live(LiveServerTests.server()) { client in
            let response = try await Self.post(
                client, "/v1/completions",
                #"{"model":"\#(Self.model)","prompt":"Say this is a test","max_tokens":7,"temperature":0,"frequency_penalty":0.5}"#
            )
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let o = try Self.object(response)
            guard case .string(let id) = o["id"] else { Issue.record("no id"); return }
            #expect(id.hasPrefix("cmpl-"))
            #expect(o["object"] == .string("text_completion"))
            guard case .integer(let created) = o["created"] else { Issue.record("no created"); return }
            #expect(abs(created - Int(CPUClockNow.seconds)) < 60)
            #expect(o["model"] == .string(Self.model))
            let choice = try #require(o.objects("choices").first)
            #expect(o.objects("choices").count == 1)
            #expect(
                choice["index"] == .integer(0) && choice["logprobs"] == .null
                    && choice["finish_reason"] == .string("length"))
            let expected = Self.pieces(prompt: Array("Say this is a test".utf8), seed: 0, temperature: 0, tokens: 7)
                .joined()
            #expect(choice["text"] == .string(expected))
            // "Say this is a test": five words, five tokens (as the reference's usage says).
            let usage = try #require(o.object("usage"))
            #expect(
                usage["prompt_tokens"] == .integer(5) && usage["completion_tokens"] == .integer(7)
                    && usage["total_tokens"] == .integer(12))
        }
    }

    // The API reference's chat example: a system and a user message.
    @Test func chatCompletionIsShapedAsTheAPIDocuments() async throws {
        try await LiveServerTests.live(LiveServerTests.server()) { client in
            let body =
                #"{"model":"\#(Self.model)","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}],"max_completion_tokens":5,"seed":42,"temperature":0.7}"#
            let response = try await Self.post(client, "/v1/chat/completions", body)
            #expect(response.status == .ok)
            let o = try Self.object(response)
            guard case .string(let id) = o["id"] else { Issue.record("no id"); return }
            #expect(id.hasPrefix("chatcmpl-"))
            #expect(o["object"] == .string("chat.completion") && o["model"] == .string(Self.model))
            let choice = try #require(o.objects("choices").first)
            let message = try #require(choice.object("message"))
            #expect(message["role"] == .string("assistant") && message["refusal"] == .null)
            guard case .string(let content) = message["content"] else { Issue.record("no content"); return }
            #expect(content.utf8.count >= 10, "five tokens of two or three characters: \(content)")
            #expect(choice["finish_reason"] == .string("length") && choice["index"] == .integer(0))
            // 3 + (3 + 7 for "You are a helpful assistant.": "assistant" is over 8 letters, two
            // tokens) + (3 + 2 for "Hello!").
            let usage = try #require(o.object("usage"))
            #expect(
                usage["prompt_tokens"] == .integer(18) && usage["completion_tokens"] == .integer(5)
                    && usage["total_tokens"] == .integer(23))
            // The same seed, the same text; another seed, another.
            let again = try Self.object(try await Self.post(client, "/v1/chat/completions", body))
            #expect(again.objects("choices").first?.object("message")?["content"] == .string(content))
            let other = try Self.object(
                try await Self.post(
                    client, "/v1/chat/completions", body.replacingOccurrences(of: #""seed":42"#, with: #""seed":43"#)))
            #expect(other.objects("choices").first?.object("message")?["content"] != .string(content))
        }
    }

    /// A streamed chat completion, byte for byte: the role chunk, one chunk per token,
    /// the finish chunk, the usage chunk, [DONE]; "usage": null on all but the last.
    @Test func streamFramingIsExact() async throws {
        try await LiveServerTests.live(LiveServerTests.server()) { client in
            let body =
                #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"seed":5,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}"#
            let response = try await Self.post(client, "/v1/chat/completions", body)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let text = String(buffer: response.body)
            let first = try JSONObject(parsing: Array(text.dropFirst(6).prefix { $0 != "\n" }.utf8))
            guard case .string(let id) = first["id"], case .integer(let created) = first["created"] else {
                Issue.record("\(text)"); return
            }
            let head =
                #"{"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"\#(Self.model)","choices":[{"index":0,"delta":"#
            let pieces = Self.pieces(prompt: Array("user\nHi\n".utf8), seed: 5, temperature: 0, tokens: 3)
            var expected =
                "data: " + head
                + #"{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"# + "\n\n"
            for piece in pieces {
                expected +=
                    "data: " + head + #"{"content":"\#(piece)"},"logprobs":null,"finish_reason":null}],"usage":null}"#
                    + "\n\n"
            }
            expected += "data: " + head + #"{},"logprobs":null,"finish_reason":"length"}],"usage":null}"# + "\n\n"
            expected +=
                #"data: {"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"\#(Self.model)","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#
                + "\n\n"
            expected += "data: [DONE]\n\n"
            #expect(text == expected)
        }
    }

    /// Completions stream `text`; a stop sequence ends the text before it, finish "stop".
    @Test func completionStreamAndStop() async throws {
        try await LiveServerTests.live(LiveServerTests.server()) { client in
            let pieces = Self.pieces(prompt: Array("Once".utf8), seed: 0, temperature: 0, tokens: 12)
            let full = pieces.joined()
            let stop = String(full.dropFirst(9).prefix(3))  // somewhere inside, across pieces
            let body =
                #"{"model":"\#(Self.model)","prompt":"Once","max_tokens":12,"temperature":0,"stream":true,"stop":["\#(stop)"]}"#
            let text = String(buffer: try await Self.post(client, "/v1/completions", body).body)
            var streamed = ""
            var reasons: [String] = []
            for line in text.split(separator: "\n") where line.hasPrefix("data: {") {
                let chunk = try JSONObject(parsing: Array(line.dropFirst(6).utf8))
                #expect(chunk["object"] == .string("text_completion"))
                let choice = try #require(chunk.objects("choices").first)
                if case .string(let piece) = choice["text"] { streamed += piece }
                if case .string(let reason) = choice["finish_reason"] { reasons.append(reason) }
            }
            let cut = full.range(of: stop)!.lowerBound
            #expect(streamed == String(full[..<cut]), "\(full) cut at \(stop)")
            #expect(reasons == ["stop"] && text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test(arguments: [
        (#"{"model":"sim-mlp-2x128","prompt":"x""#, 400, "invalid_request_error", nil as String?),
        (#"{"prompt":"x"}"#, 400, "invalid_request_error", "model"),
        (#"{"model":"gpt-4o","prompt":"x"}"#, 404, "invalid_request_error", "model"),
        (#"{"model":"sim-mlp-2x128"}"#, 400, "invalid_request_error", "prompt"),
        (#"{"model":"sim-mlp-2x128","prompt":"x","max_tokens":0}"#, 400, "invalid_request_error", "max_tokens"),
        (#"{"model":"sim-mlp-2x128","prompt":"x","max_tokens":100000}"#, 400, "invalid_request_error", "max_tokens"),
        (#"{"model":"sim-mlp-2x128","prompt":"x","n":2}"#, 400, "invalid_request_error", "n"),
        (#"{"model":"sim-mlp-2x128","prompt":"x","temperature":3}"#, 400, "invalid_request_error", "temperature"),
        (#"{"model":"sim-mlp-2x128","prompt":"x","stream":"yes"}"#, 400, "invalid_request_error", "stream"),
        (#"{"model":"sim-mlp-2x128","prompt":"x","stop":["a","b","c","d","e"]}"#, 400, "invalid_request_error", "stop"),
    ])
    func completionErrors(body: String, status: Int, type: String, param: String?) async throws {
        try await LiveServerTests.live(LiveServerTests.server()) { client in
            let response = try await Self.post(client, "/v1/completions", body)
            #expect(response.status.code == status, "\(body)")
            let error = try #require(try Self.object(response).object("error"), "\(String(buffer: response.body))")
            #expect(error["type"] == .string(type))
            #expect(error["param"] == (param.map { .string($0) } ?? .null))
            guard case .string(let message) = error["message"] else { Issue.record("no message"); return }
            #expect(!message.isEmpty)
            if status == 404 { #expect(error["code"] == .string("model_not_found")) }
        }
    }

    @Test(arguments: [
        (#"{"model":"sim-mlp-2x128","messages":[]}"#, "messages"),
        (#"{"model":"sim-mlp-2x128","messages":[{"role":"wizard","content":"x"}]}"#, "messages.[0].role"),
        (#"{"model":"sim-mlp-2x128","messages":[{"role":"user","content":7}]}"#, "messages.[0].content"),
    ])
    func chatErrors(body: String, param: String) async throws {
        try await LiveServerTests.live(LiveServerTests.server()) { client in
            let response = try await Self.post(client, "/v1/chat/completions", body)
            #expect(response.status == .badRequest)
            #expect(try Self.object(response).object("error")?["param"] == .string(param))
        }
    }

    @Test func modelsListsTheServedModel() async throws {
        try await LiveServerTests.live(LiveServerTests.server { $0.modelName = "tiny-llm" }) { client in
            let o = try Self.object(try await client.execute(uri: "/v1/models", method: .get))
            #expect(o["object"] == .string("list"))
            let model = try #require(o.objects("data").first)
            #expect(
                model["id"] == .string("tiny-llm") && model["object"] == .string("model")
                    && model["owned_by"] != .missing)
            let wrong = try await Self.post(client, "/v1/completions", #"{"model":"sim-mlp-2x128","prompt":"x"}"#)
            #expect(wrong.status == .notFound)
            let post = try await client.execute(uri: "/v1/models", method: .post)
            #expect(post.status == .methodNotAllowed)
        }
    }
}

enum CPUClockNow {
    static var seconds: Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec)
    }
}
