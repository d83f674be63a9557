import HTTPTypes
import Platform
import NIOCore
import NIOHTTPTypes

/// Ends keep-alive connections older than their age (`maxAge`, ±10 % so connections
/// opened together do not all reconnect together): the next final response that leaves
/// no other request outstanding carries `Connection: close`, and the connection closes
/// once it is sent. Kubernetes Services balance connections, not requests, so a client
/// holding its connections would never reach replicas the autoscaler adds; a client
/// that reconnects is balanced again (gRPC's MAX_CONNECTION_AGE, for HTTP/1.1).
final class ConnectionAge: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let maxAgeNanos: UInt64
    private let now: () -> UInt64
    private var openedAt: UInt64 = 0
    /// Requests read whose response has not ended: a pipelined request behind this
    /// response must be answered before the connection may close.
    private var outstanding = 0
    private var closing = false

    /// - Parameters:
    ///   - spread: the age's factor, by default drawn from 0.9...1.1.
    ///   - now: monotonic nanoseconds (a test passes its own clock).
    init(
        maxAgeSeconds: Double, spread: Double = Double.random(in: 0.9...1.1),
        now: @escaping () -> UInt64 = CPUClock.monotonicNanos
    ) {
        maxAgeNanos = UInt64(maxAgeSeconds * spread * 1e9)
        self.now = now
    }

    func handlerAdded(context: ChannelHandlerContext) {
        openedAt = now()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { outstanding += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response)
        where response.status.kind != .informational && !closing && outstanding <= 1
            && now() &- openedAt >= maxAgeNanos:
            closing = true
            response.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .end:
            outstanding = max(0, outstanding - 1)
            guard closing else { return context.write(data, promise: promise) }
            // Close once the response is on the wire, not before (that would cut it off).
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.assumeIsolatedUnsafeUnchecked().whenComplete { _ in context.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }
}
