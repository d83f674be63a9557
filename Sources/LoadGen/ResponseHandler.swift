import NIOCore
import NIOHTTP1
import NIOTLS

/// Writes the request, encoded once, in place of NIO's per-request encoder.
final class PreEncodedRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = ByteBuffer
    private let bytes: ByteBuffer
    /// Its request's own bytes, when every request differs (completions).
    private let connection: Connection

    init(bytes: ByteBuffer, connection: Connection) {
        self.bytes = bytes
        self.connection = connection
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) {
            context.write(wrapOutboundOut(connection.requestBytes ?? bytes), promise: promise)
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
            connection.machine.responseHead(
                status: Int(head.status.code), pod: head.headers.first(name: "X-Served-By"),
                keepAlive: head.isKeepAlive)
            if runner.timesTokens {
                connection.tokens.isEventStream =
                    head.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true
            }
        case .body(let buffer):
            connection.machine.responseBody(bytes: buffer.readableBytes)
            if runner.timesTokens { connection.tokens.feed(buffer, at: NIODeadline.now().uptimeNanoseconds) }
        case .end:
            runner.responseEnded(connection)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { runner.connectionReady(connection) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        runner.failed(connection, kind: "reset")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kind: String
        if ClientTLS.isTLSError(error) {
            kind = "tls"
        } else {
            kind = (error is HTTPParserError || error is NIOHTTPDecoderError) ? "protocol" : "reset"
        }
        let cause =
            switch kind {
            case "protocol": "invalid HTTP response: \(error)"
            case "tls": ClientTLS.describe(error)
            default: LoadRun.describe(error)
            }
        runner.failed(connection, kind: kind, cause: cause)
    }
}
