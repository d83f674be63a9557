import Foundation
import JSON
@testable import LoadGen
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Records
import Testing

/// A loopback server that answers every request with a streamed completion at known
/// times: the first token `firstMs` after the request, then one every `gapMs`, then the
/// finish, the usage and [DONE]. It keeps the request bodies it was sent.
final class SSEServer: Sendable {
    let channel: any Channel
    let bodies = NIOLockedValueBox<[String]>([])
    var port: Int { channel.localAddress!.port! }

    init(firstMs: Int64, gapMs: Int64, tokens: Int, group: any EventLoopGroup) async throws {
        let bodies = self.bodies
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        Handler(firstMs: firstMs, gapMs: gapMs, tokens: tokens, bodies: bodies))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let firstMs: Int64, gapMs: Int64, tokens: Int
        let bodies: NIOLockedValueBox<[String]>
        var seen = ""

        init(firstMs: Int64, gapMs: Int64, tokens: Int, bodies: NIOLockedValueBox<[String]>) {
            (self.firstMs, self.gapMs, self.tokens, self.bodies) = (firstMs, gapMs, tokens, bodies)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            seen += String(buffer: unwrapInboundIn(data))
            // One request: a head with Content-Length, then that many bytes.
            while let end = seen.range(of: "\r\n\r\n") {
                let head = seen[..<end.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                let rest = seen[end.upperBound...]
                guard rest.utf8.count >= length else { return }
                let body = String(rest.utf8.prefix(length))!
                bodies.withLockedValue { $0.append(body) }
                seen = String(rest.utf8.dropFirst(length))!
                respond(context)
            }
        }

        static func chunk(_ text: String) -> ByteBuffer {
            ByteBuffer(string: String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n")
        }

        func respond(_ context: ChannelHandlerContext) {
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nX-Served-By: pod-s\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: head)), promise: nil)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let role =
                #"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#
                + "\n\n"
            context.writeAndFlush(wrapOutboundOut(Self.chunk(role)), promise: nil)
            for i in 0..<tokens {
                let event =
                    #"data: {"choices":[{"index":0,"delta":{"content":"t\#(i)"},"finish_reason":null}]}"# + "\n\n"
                context.eventLoop.scheduleTask(in: .milliseconds(firstMs + Int64(i) * gapMs)) {
                    bound.value.writeAndFlush(NIOAny(Self.chunk(event)), promise: nil)
                }
            }
            let tail =
                #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"# + "\n\n"
                + #"data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":\#(tokens),"total_tokens":\#(11 + tokens)}}"#
                + "\n\n"
                + "data: [DONE]\n\n"
            context.eventLoop.scheduleTask(in: .milliseconds(firstMs + Int64(tokens - 1) * gapMs + 5)) {
                bound.value.writeAndFlush(NIOAny(Self.chunk(tail)), promise: nil)
                bound.value.writeAndFlush(NIOAny(ByteBuffer(string: "0\r\n\r\n")), promise: nil)
            }
        }
    }
}

@Suite(.serialized) struct CompletionLoadTests {
    /// Loops of its own: RunnerTests times its schedule on its loops, in parallel with this suite.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func load(stream: Bool = true) throws -> CompletionLoad {
        CompletionLoad(
            endpoint: .chat, model: "m1", promptTokens: try TokenCount("5:9", flag: "prompt-tokens"),
            maxTokens: try TokenCount("6", flag: "max-tokens"), stream: stream, seed: 3)
    }

    /// infer-load's TTFT and ITL against a server whose delays are known: the first token
    /// 120 ms after the request, the next five 40 ms apart.
    @Test func streamedTokensAreTimed() async throws {
        let server = try await SSEServer(firstMs: 120, gapMs: 40, tokens: 6, group: Self.serverGroup)
        defer { Task { await server.close() } }
        let target = try Target(
            url: "http://127.0.0.1:\(server.port)", path: "/v1/chat/completions", method: "POST", headers: [], body: [])
        let plan = LoadPlan(
            target: target, schedule: ArrivalSchedule(profile: .constant(qps: 5, seconds: nil), limit: 3),
            connections: 10, maxInFlight: 10, timeout: 10, completions: try Self.load())
        let records = NIOLockedValueBox<[Record]>([])
        _ = try await LoadRunner(plan: plan, loop: Self.group.next()) { record in
            records.withLockedValue { $0.append(record) }
            return true
        }.run()
        let all = records.withLockedValue { $0 }
        #expect(all.count == 3 && all.allSatisfy { $0.status == 200 && $0.error == nil })
        for record in all {
            let t = try #require(record.tokens)
            // Bounds for a busy machine: never early, and not much late.
            #expect(t.ttftMs! >= 120 && t.ttftMs! < 120 + 400, "ttft \(t.ttftMs!)")
            // The mean gap: a first token held up by a busy machine shortens it, so the lower
            // bound is loose; the sum of the gaps cannot beat the server's 200 ms.
            #expect(t.itlMs! >= 20 && t.itlMs! < 40 + 60, "itl \(t.itlMs!)")
            #expect(t.itlMaxMs! >= t.itlMs! && t.itlMaxMs! < 40 + 300)
            #expect(t.tokensIn == 11 && t.tokensOut == 6)
            #expect(record.latencyMs >= 120 + 5 * 40)
        }
        // What was sent: the API's chat request, with a prompt of 5–9 words.
        let bodies = server.bodies.withLockedValue { $0 }
        #expect(bodies.count == 3)
        for body in bodies {
            let o = try JSONObject(parsing: Array(body.utf8))
            #expect(o["model"] == .string("m1") && o["max_tokens"] == .integer(6) && o["stream"] == .bool(true))
            #expect(o.object("stream_options")?["include_usage"] == .bool(true))
            let message = try #require(o.objects("messages").first)
            guard case .string(let content) = message["content"] else { Issue.record("no content"); continue }
            #expect(
                message["role"] == .string("user") && (5...9).contains(content.split(separator: " ").count),
                "\(content)")
        }
        #expect(Set(bodies).count == 3, "each request its own prompt and seed")
    }

    /// Events split anywhere across reads are the same tokens; empty text is not one.
    @Test func tokenStreamIsIndifferentToHowBytesArrive() {
        let events =
            #"data: {"choices":[{"delta":{"role":"assistant","content":""}}]}"# + "\n\n"
            + (0..<5).map { #"data: {"choices":[{"delta":{"content":"w\#($0)"}}]}"# + "\n\n" }.joined()
            + #"data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5}}"# + "\n\ndata: [DONE]\n\n"
        let bytes = Array(events.utf8)
        for size in [1, 7, 64, bytes.count] {
            var stream = TokenStream()
            stream.isEventStream = true
            var now: UInt64 = 1_000_000
            for start in stride(from: 0, to: bytes.count, by: size) {
                now += 1_000_000
                stream.feed(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]), at: now)
            }
            stream.finish()
            #expect(stream.events == 5 && stream.tokensIn == 7 && stream.tokensOut == 5, "chunks of \(size)")
        }
        // Other servers' spacing (Python's json.dumps: `"content": "a"`), and null content.
        var spaced = TokenStream()
        spaced.isEventStream = true
        let text =
            #"data: {"choices": [{"delta": {"role": "assistant", "content": null}}]}"# + "\n\n"
            + #"data: {"choices": [{"delta": {"content": " tok"}}]}"# + "\n\n"
            + #"data: {"choices": [{"delta": {"content": ""}}]}"# + "\n\n"
            + #"data: {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 1}}"# + "\n\n"
        spaced.feed(ByteBuffer(string: text), at: 2_000_000)
        spaced.finish()
        #expect(spaced.events == 1 && spaced.tokensIn == 4 && spaced.tokensOut == 1)
        // CR LF line ends, `data:` without its space, and `event:`/`id:` lines beside it.
        var crlf = TokenStream()
        crlf.isEventStream = true
        let framed =
            "event: message\r\nid: 1\r\ndata:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
            + "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n"
        for byte in framed.utf8 { crlf.feed(ByteBuffer(bytes: [byte]), at: 3_000_000) }
        crlf.finish()
        #expect(crlf.events == 2)
        // A whole JSON answer: its usage, and TTFT is the whole latency.
        var whole = TokenStream()
        whole.feed(
            ByteBuffer(string: #"{"choices":[{"text":"abc"}],"usage":{"prompt_tokens":3,"completion_tokens":9}}"#),
            at: 5_000_000)
        whole.finish()
        let t = whole.tokens(due: 1_000_000, end: 5_000_000)
        #expect(t.tokensIn == 3 && t.tokensOut == 9 && t.ttftMs == 4 && t.itlMs == nil)
    }

    @Test func bodiesAreRepeatableAndDrawnFromTheirRanges() throws {
        let load = try Self.load(stream: false)
        #expect(load.body(seq: 4) == load.body(seq: 4) && load.body(seq: 4) != load.body(seq: 5))
        let completions = CompletionLoad(
            endpoint: .completions, model: "m", promptTokens: try TokenCount("3", flag: "p"),
            maxTokens: try TokenCount("2:4", flag: "m"), stream: false, seed: 1)
        let o = try JSONObject(parsing: completions.body(seq: 0))
        guard case .string(let prompt) = o["prompt"], case .integer(let max) = o["max_tokens"] else {
            Issue.record("shape"); return
        }
        #expect(prompt.split(separator: " ").count == 3 && (2...4).contains(max) && o["stream"] == .missing)
        #expect(CompletionLoad.endpoint(forPath: "/v1/completions") == .completions)
        #expect(CompletionLoad.endpoint(forPath: "/v1/chat/completions") == .chat)
        for bad in ["0", "5:2", "x", "1:2:3", ""] {
            #expect(throws: ParseError.self) { try TokenCount(bad, flag: "max-tokens") }
        }
    }
}
