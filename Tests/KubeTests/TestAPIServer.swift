import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwiftASN1
import TestSupport
import X509

/// An HTTPS server that answers as a Kubernetes API server does — JSON objects,
/// `?watch=1` chunked event streams, Status objects — from a script the test writes,
/// and checks the credentials it was given.
final class TestAPIServer: @unchecked Sendable {
    struct Request: Sendable {
        let path: String
        let query: [String: String]
        let authorization: String?
        let hasClientCertificate: Bool
        var isWatch: Bool { query["watch"] == "1" }
    }

    enum Reply: Sendable {
        case json(Int, String)
        /// Watch events, each after a delay in ms; then, `holdMs` later, the stream ends
        /// (`drop`: by dropping the connection mid-stream, as a failing proxy would).
        case stream([(delayMs: Int, line: String)], drop: Bool, holdMs: Int = 20)
    }

    let channel: any Channel
    var port: Int { channel.localAddress!.port! }
    var url: String { "https://127.0.0.1:\(port)" }
    private let requests = NIOLockedValueBox<[Request]>([])
    var seen: [Request] { requests.withLockedValue { $0 } }

    /// `token`: the bearer token required (nil: none); `requireClientCert`: mutual TLS.
    init(
        token: String?, requireClientCert: Bool = false,
        script: @escaping @Sendable (Request, Int) -> Reply
    ) async throws {
        let pki = TestPKI.shared
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(pki.serverCertPEM.utf8)).map {
                .certificate($0)
            },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.serverKeyPEM.utf8), format: .pem)))
        if requireClientCert {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pki.caPEM.utf8)))
        }
        let context = try NIOSSLContext(configuration: tls)
        let log = requests
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(
                        Handler(token: token, requireClientCert: requireClientCert, log: log, script: script))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async { try? await channel.close() }

    static let status401 =
        #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let token: String?
        let requireClientCert: Bool
        let log: NIOLockedValueBox<[Request]>
        let script: @Sendable (Request, Int) -> Reply
        var head: HTTPRequestHead?

        init(
            token: String?, requireClientCert: Bool, log: NIOLockedValueBox<[Request]>,
            script: @escaping @Sendable (Request, Int) -> Reply
        ) {
            self.token = token
            self.requireClientCert = requireClientCert
            self.log = log
            self.script = script
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                let parts = head.uri.split(separator: "?", maxSplits: 1)
                var query: [String: String] = [:]
                if parts.count == 2 {
                    for pair in parts[1].split(separator: "&") {
                        let kv = pair.split(separator: "=", maxSplits: 1).map {
                            String($0).removingPercentEncoding ?? String($0)
                        }
                        query[kv[0]] = kv.count > 1 ? kv[1] : ""
                    }
                }
                let request = Request(
                    path: String(parts[0]), query: query, authorization: head.headers.first(name: "Authorization"),
                    hasClientCertificate: requireClientCert)
                let index = log.withLockedValue {
                    $0.append(request); return $0.count - 1
                }
                if let token, request.authorization != "Bearer \(token)" {
                    respond(context, .json(401, TestAPIServer.status401))
                } else {
                    respond(context, script(request, index))
                }
            }
        }

        func respond(_ context: ChannelHandlerContext, _ reply: Reply) {
            switch reply {
            case .json(let status, let body):
                var headers = HTTPHeaders([
                    ("Content-Type", "application/json"), ("Content-Length", String(body.utf8.count)),
                ])
                headers.add(name: "Connection", value: "keep-alive")
                context.write(
                    wrapOutboundOut(
                        .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .stream(let events, let drop, let holdMs):
                let headers = HTTPHeaders([("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil)
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                var delay: Int64 = 0
                for event in events {
                    delay += Int64(event.delayMs)
                    context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
                        bound.value.writeAndFlush(
                            NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: event.line + "\n")))),
                            promise: nil)
                    }
                }
                context.eventLoop.scheduleTask(in: .milliseconds(delay + Int64(holdMs))) {
                    if drop {
                        bound.value.close(promise: nil)
                    } else {
                        bound.value.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
                    }
                }
            }
        }
    }
}
