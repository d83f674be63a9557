import NIOCore
import NIOHTTP1

/// Writes the request, encoded once, in place of NIO's per-request encoder.
final class PreEncodedRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = ByteBuffer
    private let bytes: ByteBuffer

    init(bytes: ByteBuffer) { self.bytes = bytes }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) {
            context.write(wrapOutboundOut(bytes), promise: promise)
        } else {
            promise?.succeed()
        }
    }
}

/// Feeds decoded response parts to the runner.
final class ResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let runner: LoadRun
    private let connection: Connection

    init(runner: LoadRun, connection: Connection) {
        self.runner = runner
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            connection.machine.responseHead(status: Int(head.status.code), pod: head.headers.first(name: "X-Served-By"),
                                            keepAlive: head.isKeepAlive)
        case .body(let buffer):
            connection.machine.responseBody(bytes: buffer.readableBytes)
        case .end:
            runner.responseEnded(connection)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        runner.failed(connection, kind: "reset")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kind = (error is HTTPParserError || error is NIOHTTPDecoderError) ? "protocol" : "reset"
        runner.failed(connection, kind: kind, cause: kind == "protocol" ? "invalid HTTP response: \(error)" : LoadRun.describe(error))
    }
}
