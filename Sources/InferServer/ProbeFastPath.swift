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
    init(
        answer: @escaping Answer, metrics: ServerMetrics, pod: String,
        now: @escaping () -> UInt64 = CPUClock.monotonicNanos,
        wallSeconds: @escaping () -> Int = CPUClock.wallWholeSeconds
    ) {
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
                answer(path) != nil
            {
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
