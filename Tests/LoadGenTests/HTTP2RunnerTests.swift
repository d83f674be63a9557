import LoadGen
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Records
import Testing

/// An h2c server (prior knowledge) that answers each stream with 200 "hello", and can
/// send GOAWAY after a number of streams or reset one stream: what a server going away
/// or refusing a request looks like to infer-load's HTTP/2 connections.
final class H2TestServer: Sendable {
    enum Mode: Sendable {
        /// GOAWAY (no error) once this many streams came, letting every stream already
        /// sent finish (a graceful shutdown's first GOAWAY names the last stream ID), then a
        /// PING: the client's ACK of it marks, in the connection's own order, the point
        /// after which it has read the GOAWAY. Both are written under NIOHTTP2's state
        /// machine (`RawFrames`): quiescing, it would drop the streams sent before the
        /// client read the GOAWAY, which a busy machine makes happen.
        case goAwayAfter(Int)
        /// RST_STREAM (internal error) for the stream with this ordinal (1-based), per connection.
        case reset(Int)
        /// For the first `streams` streams: the head at once, then, after `delayMs` without
        /// reading (so a client's RST_STREAM is not seen yet), `bytes` of body. The body
        /// crosses the reset on the wire, as a timed-out request's does.
        case bodyAfterReset(streams: Int, bytes: Int, delayMs: Int64)
    }

    let channel: any Channel
    var port: Int { channel.localAddress!.port! }
    /// Per connection: streams that came before the client had read the GOAWAY, and after.
    let streams = NIOLockedValueBox<[(before: Int, after: Int)]>([])

    init(_ mode: Mode, group: any EventLoopGroup) async throws {
        let streams = self.streams
        channel = try await bindLoopbackServer(group: group) {
            let index = streams.withLockedValue {
                $0.append((0, 0)); return $0.count - 1
            }
            let raw = RawFrames()
            return [
                raw, NIOHTTP2Handler(mode: .server),
                Handler(
                    mode: mode, raw: raw,
                    count: { acked in
                        streams.withLockedValue { if acked { $0[index].after += 1 } else { $0[index].before += 1 } }
                    }),
            ]
        }
    }

    func close() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame
        typealias OutboundOut = HTTP2Frame
        let mode: Mode
        let raw: RawFrames
        let count: @Sendable (_ afterGoAwayRead: Bool) -> Void
        var streams = 0
        var goAwayRead = false
        init(mode: Mode, raw: RawFrames, count: @escaping @Sendable (Bool) -> Void) {
            (self.mode, self.raw, self.count) = (mode, raw, count)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            if case .ping(_, ack: true) = frame.payload { goAwayRead = true }
            guard case .headers(let headers) = frame.payload, headers.endStream else { return }
            streams += 1
            count(goAwayRead)
            switch mode {
            case .goAwayAfter(let n) where streams == n:
                // 8-byte payloads on stream 0: GOAWAY (type 7: last stream 2^31 − 1, no
                // error), then PING (type 6: zeros).
                raw.write(
                    [0, 0, 8, 7, 0, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
                        + [0, 0, 8, 6, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8))
            case .reset(let n) where streams == n:
                context.writeAndFlush(
                    wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .rstStream(.internalError))),
                    promise: nil)
                return
            case .bodyAfterReset(let n, let bytes, let delayMs) where streams <= n:
                let head = HPACKHeaders([(":status", "200"), ("content-length", String(bytes))])
                context.writeAndFlush(
                    wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: head)))),
                    promise: nil)
                context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
                let bound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(delayMs)) {
                    let (context, handler) = bound.value
                    let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: bytes)
                    context.writeAndFlush(
                        handler.wrapOutboundOut(
                            HTTP2Frame(
                                streamID: frame.streamID,
                                payload: .data(.init(data: .byteBuffer(body), endStream: true)))),
                        promise: nil)
                    context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
                    context.read()
                }
                return
            default:
                break
            }
            let head = HPACKHeaders([(":status", "200"), ("x-served-by", "pod-a"), ("content-length", "5")])
            context.write(
                wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: head)))),
                promise: nil)
            context.writeAndFlush(
                wrapOutboundOut(
                    HTTP2Frame(
                        streamID: frame.streamID,
                        payload: .data(.init(data: .byteBuffer(ByteBuffer(string: "hello")), endStream: true)))),
                promise: nil)
        }
    }
}

/// Bytes straight to the socket, under NIOHTTP2's handler: frames its state machine
/// does not know of.
final class RawFrames: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    private var context: ChannelHandlerContext?
    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
    func write(_ bytes: [UInt8]) { context?.writeAndFlush(NIOAny(ByteBuffer(bytes: bytes)), promise: nil) }
}

@Suite(.serialized) struct HTTP2RunnerTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func run(
        port: Int, requests: Int, qps: Double = 100, timeout: Double = 5
    ) async throws -> ([Record], LoadSummary) {
        let target = try Target(url: "http://127.0.0.1:\(port)", path: "/infer", method: "GET", headers: [], body: [])
        // 100/s: each request is answered long before the next is due.
        var plan = LoadPlan(
            target: target, schedule: ArrivalSchedule(profile: .constant(qps: qps, seconds: nil), limit: requests),
            connections: 8, maxInFlight: 100, timeout: timeout)
        plan.http2 = true
        let records = NIOLockedValueBox<[Record]>([])
        let runner = LoadRunner(plan: plan, loop: group.next()) { record in
            records.withLockedValue { $0.append(record) }
            return true
        }
        let summary = try await runner.run()
        return (records.withLockedValue { $0 }.sorted { $0.seq < $1.seq }, summary)
    }

    /// A GOAWAY lets the streams it names finish; later requests go on a new connection,
    /// none is lost to the connection that is going away. Checked by order, not time: on
    /// a busy machine more requests may go out before the GOAWAY is read, which is right.
    @Test func goAwayDrainsTheConnectionAndOpensAnother() async throws {
        let server = try await H2TestServer(.goAwayAfter(4), group: Self.serverGroup)
        defer { Task { await server.close() } }
        let (records, summary) = try await Self.run(port: server.port, requests: 12, qps: 20)
        #expect(records.count == 12)
        #expect(
            records.allSatisfy { $0.status == 200 && $0.error == nil && $0.bytes == 5 && $0.pod == "pod-a" },
            "\(records.map { "\($0.seq): \($0.status) \($0.error ?? "-")" })")
        let streams = server.streams.withLockedValue { $0 }
        // No stream on a connection once its GOAWAY was read; each carried the four before
        // its GOAWAY (the last, what was left); every connection opened reached the server.
        #expect(streams.allSatisfy { $0.after == 0 }, "streams after GOAWAY: \(streams)")
        #expect(
            streams.dropLast().allSatisfy { $0.before >= 4 } && streams.map(\.before).reduce(0, +) == 12, "\(streams)")
        #expect(summary.connectionsOpened == streams.count, "\(streams)")
    }

    /// A stream the server resets is that request's error, not its neighbours'.
    @Test func aResetStreamIsItsRequestsError() async throws {
        let server = try await H2TestServer(.reset(2), group: Self.serverGroup)
        defer { Task { await server.close() } }
        let (records, summary) = try await Self.run(port: server.port, requests: 5)
        #expect(records.map(\.error) == [nil, "reset", nil, nil, nil], "\(records)")
        #expect(records.filter { $0.status == 200 }.count == 4)
        #expect(summary.connectionsOpened == 1)
    }

    /// Bodies that arrive for streams infer-load already gave up on (timed out, reset)
    /// still use the connection's flow-control window; it is given back all the same.
    /// Three 40 KB bodies cross their resets: without that, the connection's 64 KiB
    /// window is gone and the fourth request, answered at once, times out too.
    @Test func windowsUsedByAbandonedStreamsAreGivenBack() async throws {
        let server = try await H2TestServer(
            .bodyAfterReset(streams: 3, bytes: 40_000, delayMs: 400), group: Self.serverGroup)
        defer { Task { await server.close() } }
        let (records, summary) = try await Self.run(port: server.port, requests: 4, qps: 2, timeout: 0.2)
        #expect(records.map(\.error) == ["timeout", "timeout", "timeout", nil], "\(records)")
        #expect(records.last?.status == 200 && records.last?.bytes == 5)
        #expect(summary.connectionsOpened == 1)
    }
}
