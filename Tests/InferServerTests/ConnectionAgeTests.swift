import HTTPTypes
@testable import InferServer
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

/// ConnectionAge on an EmbeddedChannel with a clock the test moves: exact ages, no
/// sockets, no sleeps.
@Suite struct ConnectionAgeTests {
    final class Clock: @unchecked Sendable {
        var nanos: UInt64 = 1_000_000_000
        func advance(seconds: Double) { nanos += UInt64(seconds * 1e9) }
    }

    static func channel(ageSeconds: Double = 2, spread: Double = 1) throws -> (EmbeddedChannel, Clock) {
        let clock = Clock()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ConnectionAge(maxAgeSeconds: ageSeconds, spread: spread, now: { clock.nanos }))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, clock)
    }

    static func request(_ channel: EmbeddedChannel) throws {
        try channel.writeInbound(
            HTTPRequestPart.head(HTTPRequest(method: .get, scheme: nil, authority: "x", path: "/infer")))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        _ = try channel.readInbound(as: HTTPRequestPart.self)
        _ = try channel.readInbound(as: HTTPRequestPart.self)
    }

    /// Writes a response; returns its Connection header.
    static func respond(_ channel: EmbeddedChannel, _ status: HTTPResponse.Status = .ok) throws -> String? {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status)))
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no response head written"); return nil
        }
        if status.kind != .informational {
            try channel.writeOutbound(HTTPResponsePart.end(nil))
            _ = try channel.readOutbound(as: HTTPResponsePart.self)
        }
        return head.headerFields[.connection]
    }

    @Test func aYoungConnectionIsKeptAnOldOneClosedAfterItsResponse() throws {
        let (channel, clock) = try Self.channel(ageSeconds: 2)
        clock.advance(seconds: 1.999)
        try Self.request(channel)
        #expect(try Self.respond(channel) == nil)
        #expect(channel.isActive)
        clock.advance(seconds: 0.001)
        try Self.request(channel)
        #expect(try Self.respond(channel) == "close")
        #expect(!channel.isActive, "closed once the response was written")
    }

    @Test func theSpreadScalesTheAge() throws {
        let (channel, clock) = try Self.channel(ageSeconds: 2, spread: 1.1)
        clock.advance(seconds: 2.1)
        try Self.request(channel)
        #expect(try Self.respond(channel) == nil, "2.1 s is younger than 2 × 1.1")
        clock.advance(seconds: 0.1)
        try Self.request(channel)
        #expect(try Self.respond(channel) == "close")
    }

    @Test func aPipelinedRequestIsAnsweredBeforeTheClose() throws {
        let (channel, clock) = try Self.channel(ageSeconds: 2)
        clock.advance(seconds: 5)
        try Self.request(channel)
        try Self.request(channel)
        #expect(try Self.respond(channel) == nil, "a second request is outstanding")
        #expect(channel.isActive)
        #expect(try Self.respond(channel) == "close")
        #expect(!channel.isActive)
    }

    @Test func informationalResponsesDoNotClose() throws {
        let (channel, clock) = try Self.channel(ageSeconds: 2)
        clock.advance(seconds: 5)
        try Self.request(channel)
        #expect(try Self.respond(channel, .continue) == nil)
        #expect(channel.isActive)
        #expect(try Self.respond(channel) == "close")
    }

    @Test func theDefaultSpreadIsTenPercent() {
        let ages = (0..<200).map { _ in ConnectionAge(maxAgeSeconds: 1).maxAgeNanos }
        #expect(ages.allSatisfy { $0 >= 900_000_000 && $0 <= 1_100_000_000 })
        #expect(Set(ages).count > 100, "ages are spread, not all the same")
    }
}
