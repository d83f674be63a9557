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
        /// GOAWAY (no error) once this many streams came, letting those finish.
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

    init(_ mode: Mode, group: any EventLoopGroup) async throws {
        channel = try await bindLoopbackServer(group: group) { [NIOHTTP2Handler(mode: .server), Handler(mode: mode)] }
    }

    func close() async { try? await channel.close() }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame
        typealias OutboundOut = HTTP2Frame
        let mode: Mode
        var streams = 0
        init(mode: Mode) { self.mode = mode }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard case .headers(let headers) = frame.payload, headers.endStream else { return }
            streams += 1
            switch mode {
            case .goAwayAfter(let n) where streams == n:
                context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                                         payload: .goAway(lastStreamID: frame.streamID, errorCode: .noError, opaqueData: nil))),
                              promise: nil)
            case .reset(let n) where streams == n:
                context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .rstStream(.internalError))), promise: nil)
                return
            case .bodyAfterReset(let n, let bytes, let delayMs) where streams <= n:
                let head = HPACKHeaders([(":status", "200"), ("content-length", String(bytes))])
                context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: head)))), promise: nil)
                context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
                let bound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(delayMs)) {
                    let (context, handler) = bound.value
                    let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: bytes)
                    context.writeAndFlush(handler.wrapOutboundOut(HTTP2Frame(streamID: frame.streamID,
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
            context.write(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: head)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID,
                                                             payload: .data(.init(data: .byteBuffer(ByteBuffer(string: "hello")), endStream: true)))),
                                  promise: nil)
        }
    }
}

@Suite(.serialized) struct HTTP2RunnerTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func run(port: Int, requests: Int, qps: Double = 100, timeout: Double = 5) async throws -> ([Record], LoadSummary) {
        let target = try Target(url: "http://127.0.0.1:\(port)", path: "/infer", method: "GET", headers: [], body: [])
        // 100/s: each request is answered long before the next is due.
        var plan = LoadPlan(target: target, schedule: ArrivalSchedule(profile: .constant(qps: qps, seconds: nil), limit: requests),
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
    /// none is lost to the connection that is going away.
    @Test func goAwayDrainsTheConnectionAndOpensAnother() async throws {
        let server = try await H2TestServer(.goAwayAfter(4), group: Self.serverGroup)
        defer { Task { await server.close() } }
        let (records, summary) = try await Self.run(port: server.port, requests: 12)
        #expect(records.count == 12)
        #expect(records.allSatisfy { $0.status == 200 && $0.error == nil && $0.bytes == 5 && $0.pod == "pod-a" },
                "\(records.map { "\($0.seq): \($0.status) \($0.error ?? "-")" })")
        #expect(summary.connectionsOpened == 3, "four streams a connection, then GOAWAY")
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
        let server = try await H2TestServer(.bodyAfterReset(streams: 3, bytes: 40_000, delayMs: 400), group: Self.serverGroup)
        defer { Task { await server.close() } }
        let (records, summary) = try await Self.run(port: server.port, requests: 4, qps: 2, timeout: 0.2)
        #expect(records.map(\.error) == ["timeout", "timeout", "timeout", nil], "\(records)")
        #expect(records.last?.status == 200 && records.last?.bytes == 5)
        #expect(summary.connectionsOpened == 1)
    }
}
