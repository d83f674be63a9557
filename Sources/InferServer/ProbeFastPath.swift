#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Platform
import NIOCore
import NIOHTTPTypes

/// Answers the probes (GET /healthz, GET /readyz) in the channel pipeline, on the
/// event loop, without the hop into Swift concurrency and the router that every other
/// request takes. Liveness then stays answerable when the application is saturated,
/// and a probe costs a fraction of a routed request.
///
/// Only when nothing else is in flight on the connection: responses must go out in
/// request order, so behind a routed request a probe takes the routed path too.
/// The connection-state handler (idle timeout, graceful-shutdown quiescing) must sit
/// in front of this one, so it sees probes and their responses like any request.
final class ProbeFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The answer to a probe path, or nil when the path is not a probe.
    typealias Answer = @Sendable (_ path: String) -> (status: HTTPResponse.Status, body: ByteBuffer, retryAfter: Bool)?

    private let answer: Answer
    private let metrics: ServerMetrics
    private let pod: String
    /// Routed requests whose response has not ended.
    private var forwarded = 0
    private var answering: (route: String, close: Bool, start: UInt64)?
    private var date: HTTPDate
    private let now: () -> UInt64

    /// - Parameters:
    ///   - now: monotonic nanoseconds, for the probe's latency metric;
    ///   - wallSeconds: Unix seconds, for the Date header (tests pass their own clocks).
    init(answer: @escaping Answer, metrics: ServerMetrics, pod: String,
         now: @escaping () -> UInt64 = CPUClock.monotonicNanos, wallSeconds: @escaping () -> Int = CPUClock.wallWholeSeconds) {
        self.answer = answer
        self.metrics = metrics
        self.pod = pod
        self.now = now
        date = HTTPDate(wallSeconds: wallSeconds)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if forwarded == 0, answering == nil, request.method == .get, let path = request.path,
               answer(path) != nil {
                let close = request.headerFields[.connection]?.lowercased() == "close"
                answering = (path, close, now())
                return
            }
            forwarded += 1
            context.fireChannelRead(data)
        case .body:
            if answering == nil { context.fireChannelRead(data) }
        case .end:
            guard let probe = answering else {
                context.fireChannelRead(data)
                return
            }
            answering = nil
            respond(context: context, probe)
        }
    }

    private func respond(context: ChannelHandlerContext, _ probe: (route: String, close: Bool, start: UInt64)) {
        // Asked again at the end: readiness may have changed meanwhile.
        guard let (status, body, retryAfter) = answer(probe.route) else { return }
        var response = HTTPResponse(status: status)
        response.headerFields[.contentType] = "application/json"
        response.headerFields[.contentLength] = String(body.readableBytes)
        response.headerFields[.date] = date.now()
        response.headerFields[.servedBy] = pod
        if retryAfter { response.headerFields[.retryAfter] = "1" }
        if probe.close { response.headerFields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        if probe.close {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        metrics.recordRequest(route: probe.route, status: Int(status.code), nanoseconds: Int64(now() &- probe.start))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { forwarded = max(0, forwarded - 1) }
        context.write(data, promise: promise)
    }
}

/// The IMF-fixdate of the current second (`Sun, 29 Nov 2026 02:45:20 GMT`), made
/// once per second.
struct HTTPDate {
    private var second = -1
    private var text = ""
    private let wallSeconds: () -> Int

    init(wallSeconds: @escaping () -> Int = CPUClock.wallWholeSeconds) { self.wallSeconds = wallSeconds }

    mutating func now() -> String {
        let s = wallSeconds()
        if s != second {
            second = s
            text = HTTPDate.format(s)
        }
        return text
    }

    static func format(_ unix: Int) -> String {
        let days = unix / 86_400, secs = unix % 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
        return "\(weekdays[days % 7]), \(two(day)) \(months[month - 1]) \(year) \(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60)) GMT"
    }
}
