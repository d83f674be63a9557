import HTTPTypes
@testable import InferServer
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

/// ProbeFastPath on an EmbeddedChannel with fixed clocks: probes answered in the
/// pipeline, everything else passed on, responses kept in request order.
@Suite struct ProbeFastPathTests {
    static func channel(ready: Bool = true) throws -> (EmbeddedChannel, ServerMetrics) {
        let metrics = ServerMetrics(version: "test")
        let handler = ProbeFastPath(
            answer: { path in
                switch path {
                case "/healthz": return (.ok, ByteBuffer(string: #"{"status":"ok"}"#), false)
                case "/readyz":
                    return ready
                        ? (.ok, ByteBuffer(string: #"{"ready":true}"#), false)
                        : (.serviceUnavailable, ByteBuffer(string: #"{"ready":false}"#), true)
                default: return nil
                }
            }, metrics: metrics, pod: "pod-1", now: { 5_000_000 }, wallSeconds: { 1_796_000_000 })
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, metrics)
    }

    static func request(
        _ channel: EmbeddedChannel, _ path: String, method: HTTPRequest.Method = .get, close: Bool = false
    ) throws {
        var head = HTTPRequest(method: method, scheme: nil, authority: "x", path: path)
        if close { head.headerFields[.connection] = "close" }
        try channel.writeInbound(HTTPRequestPart.head(head))
        try channel.writeInbound(HTTPRequestPart.end(nil))
    }

    /// The response the handler wrote itself: head and body text.
    static func answered(_ channel: EmbeddedChannel) throws -> (HTTPResponse, String)? {
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self) else { return nil }
        guard case .body(let body) = try channel.readOutbound(as: HTTPResponsePart.self),
            case .end = try channel.readOutbound(as: HTTPResponsePart.self)
        else { return nil }
        return (head, String(buffer: body))
    }

    @Test func aProbeIsAnsweredInThePipeline() throws {
        let (channel, _) = try Self.channel()
        try Self.request(channel, "/healthz")
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == nil, "a probe must not reach the router")
        let (head, body) = try #require(try Self.answered(channel))
        #expect(head.status == .ok)
        #expect(body == #"{"status":"ok"}"#)
        #expect(head.headerFields[.contentLength] == String(body.utf8.count))
        #expect(head.headerFields[HTTPField.Name("X-Served-By")!] == "pod-1")
        #expect(head.headerFields[.date] == "Mon, 30 Nov 2026 00:53:20 GMT")
        #expect(channel.isActive)
    }

    @Test func notReadyCarriesRetryAfter() throws {
        let (channel, _) = try Self.channel(ready: false)
        try Self.request(channel, "/readyz")
        let (head, _) = try #require(try Self.answered(channel))
        #expect(head.status == .serviceUnavailable)
        #expect(head.headerFields[.retryAfter] == "1")
    }

    @Test func otherRequestsArePassedOn() throws {
        let (channel, _) = try Self.channel()
        try Self.request(channel, "/infer")
        try Self.request(channel, "/healthz", method: .post)
        var passed: [String] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            if case .head(let head) = part { passed.append("\(head.method) \(head.path ?? "")") }
        }
        #expect(passed == ["GET /infer", "POST /healthz"])
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) == nil, "nothing answered in the pipeline")
    }

    @Test func aProbeBehindARoutedRequestWaitsItsTurn() throws {
        let (channel, _) = try Self.channel()
        try Self.request(channel, "/infer")
        try Self.request(channel, "/healthz")
        // Both go to the router: answering the probe first would reorder the responses.
        var heads = 0
        while let part = try channel.readInbound(as: HTTPRequestPart.self) { if case .head = part { heads += 1 } }
        #expect(heads == 2)
        // Once the routed responses have ended, a probe takes the fast path again.
        for _ in 0..<2 {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
        try Self.request(channel, "/healthz")
        #expect(try channel.readInbound(as: HTTPRequestPart.self) == nil)
        #expect(try Self.answered(channel)?.0.status == .ok)
    }

    @Test func connectionCloseIsHonoured() throws {
        let (channel, _) = try Self.channel()
        try Self.request(channel, "/healthz", close: true)
        let (head, _) = try #require(try Self.answered(channel))
        #expect(head.headerFields[.connection] == "close")
        #expect(!channel.isActive, "closed once the answer was written")
    }

    @Test func probesAreCounted() throws {
        let (channel, metrics) = try Self.channel()
        try Self.request(channel, "/healthz")
        _ = try Self.answered(channel)
        var buffer = [UInt8]()
        metrics.registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#"route="/healthz""#) && text.contains(#"status="200""#), "\(text.prefix(600))")
    }
}
