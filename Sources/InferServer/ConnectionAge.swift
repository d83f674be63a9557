import HTTPTypes
import InferModel
import NIOCore
import NIOHTTPTypes

/// Ends keep-alive connections older than `maxAge`: the next response on such a
/// connection carries `Connection: close` and the connection closes once it is sent.
/// Kubernetes Services balance connections, not requests, so a client holding its
/// connections would never reach replicas the autoscaler adds; a client that
/// reconnects is balanced again (gRPC's MAX_CONNECTION_AGE, for HTTP/1.1).
final class ConnectionAge: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let maxAgeNanos: UInt64
    private var openedAt: UInt64 = 0
    private var closing = false

    init(maxAgeSeconds: Double) {
        maxAgeNanos = UInt64(maxAgeSeconds * 1e9)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        openedAt = CPUClock.monotonicNanos()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response) where !closing && CPUClock.monotonicNanos() - openedAt >= maxAgeNanos:
            closing = true
            response.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .end where closing:
            // Close once the response is on the wire, not before (that would cut it off).
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.assumeIsolatedUnsafeUnchecked().whenComplete { _ in context.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }
}
