import Dispatch
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import InferServer
import JSON
import Logging
import NIOCore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real application on a real socket (port 0), driven over HTTP/1.1.
@Suite struct LiveServerTests {
    static func server(_ tweak: (inout ServerConfig) -> Void = { _ in }) -> InferServer {
        var config = ServerConfig()
        config.host = "127.0.0.1"
        config.port = 0
        config.workMs = 2
        config.workers = 1
        tweak(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return InferServer(config: config, logger: logger, environment: ["POD_NAME": "pod-test"])
    }

    /// Runs `body` against a live server once /readyz says ready.
    static func live(
        _ server: InferServer, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await server.buildApplication().test(.live) { client in
            // Calibration is 100 ms of CPU; on a busy machine it takes seconds of wall time,
            // and a request before it ends gets 503, so wait for it, however long.
            let deadline = ContinuousClock.now + .seconds(60)
            while try await client.execute(uri: "/readyz", method: .get).status != .ok {
                guard ContinuousClock.now < deadline else { Issue.record("not ready after 60 s"); return }
                try await Task.sleep(for: .milliseconds(25))
            }
            try await body(client)
        }
    }

    static func json(_ buffer: ByteBuffer) throws -> JSONObject {
        try JSONObject(parsing: Array(buffer.readableBytesView))
    }

    @Test func healthzReadyzAndMetrics() async throws {
        let server = Self.server()
        try await Self.live(server) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(try Self.json(health.body)["status"] == .string("ok"))
            #expect(health.headers[HTTPField.Name("X-Served-By")!] == "pod-test")
            #expect(health.headers[.date]?.hasSuffix(" GMT") == true)
            #expect(health.headers[.contentLength] == "15")
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            _ = try await client.execute(uri: "/infer", method: .get)
            _ = try await client.execute(uri: "/nope", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            for needle in [
                #"infer_http_requests_total{route="/infer",status="200"} 1"#,
                #"infer_http_requests_total{route="/healthz",status="200"} 1"#,
                #"infer_http_requests_total{route="other",status="404"} 1"#,
                "infer_http_request_duration_seconds_bucket", "infer_inflight_requests", "infer_queue_depth",
                "infer_shed_total 0", "infer_work_cpu_seconds_total",
                #"infer_build_info{version="\#(InferServer.version)"} 1"#,
            ] {
                #expect(text.contains(needle), "metrics lack \(needle)")
            }
        }
        #expect(server.state.readiness == .ready)
    }

    @Test func inferAnswersTheContract() async throws {
        try await Self.live(Self.server()) { client in
            let body = ByteBuffer(string: #"{"input":"hello","tokens":3}"#)
            let first = try await client.execute(uri: "/infer", method: .post, body: body)
            #expect(first.status == .ok)
            #expect(first.headers[.contentType] == "application/json")
            #expect(first.headers[HTTPField.Name("X-Served-By")!] == "pod-test")
            let object = try Self.json(first.body)
            #expect(object["pod"] == .string("pod-test"))
            #expect(object["model"] == .string("sim-mlp-2x128"))
            #expect(object["tokens"] == .integer(3))
            guard case .string(let output) = object["output"], case .string(let id) = object["id"] else {
                Issue.record("no output or id"); return
            }
            #expect(output.count == 6 && !id.isEmpty)
            #expect((object["compute_ms"].number ?? -1) > 0)
            #expect((object["queue_ms"].number ?? -1) >= 0)
            // Same input, same output; GET with a query does the same work.
            let again = try Self.json(try await client.execute(uri: "/infer", method: .post, body: body).body)
            #expect(again["output"] == object["output"])
            #expect(again["id"] != object["id"])
            let viaGet = try Self.json(try await client.execute(uri: "/infer?input=hello&tokens=3", method: .get).body)
            #expect(viaGet["output"] == object["output"])
            let empty = try await client.execute(uri: "/infer", method: .post)
            #expect(empty.status == .ok)
            #expect(try Self.json(empty.body)["tokens"] == .integer(1))
        }
    }

    @Test(arguments: [
        (#"{"input": "x""#, "malformed JSON"), ("not json", "malformed JSON"), ("[1,2]", "malformed JSON"),
        (#"{"tokens":"3"}"#, "\"tokens\" must be an integer"),
        (#"{"tokens":0}"#, "\"tokens\" must be an integer from 1"),
        (#"{"tokens":100000}"#, "\"tokens\" must be an integer from 1"),
        (#"{"input":5}"#, "\"input\" must be a string"),
    ])
    func badBodiesAre400(body: String, message: String) async throws {
        try await Self.live(Self.server()) { client in
            let response = try await client.execute(uri: "/infer", method: .post, body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            guard case .string(let error) = try Self.json(response.body)["error"] else {
                Issue.record("no error message"); return
            }
            #expect(error.contains(message), "\(error)")
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await Self.live(Self.server { $0.maxBody = 64 }) { client in
            let big = ByteBuffer(string: #"{"input":""# + String(repeating: "a", count: 200) + #""}"#)
            let response = try await client.execute(uri: "/infer", method: .post, body: big)
            #expect(response.status == .contentTooLarge)
            #expect(try Self.json(response.body)["error"] != .missing)
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405() async throws {
        try await Self.live(Self.server()) { client in
            let missing = try await client.execute(uri: "/predict", method: .get)
            #expect(missing.status == .notFound)
            #expect(try Self.json(missing.body)["error"] != .missing)
            let wrong = try await client.execute(uri: "/healthz", method: .post)
            #expect(wrong.status == .methodNotAllowed)
            #expect(wrong.headers[.allow] == "GET")
            let wrongInfer = try await client.execute(uri: "/infer", method: .delete)
            #expect(wrongInfer.status == .methodNotAllowed)
            #expect(wrongInfer.headers[.allow] == "GET, POST")
        }
    }

    @Test func tokensInQueryAreValidated() async throws {
        try await Self.live(Self.server()) { client in
            let notANumber = try await client.execute(uri: "/infer?tokens=abc", method: .get)
            let tooMany = try await client.execute(uri: "/infer?tokens=65", method: .get)
            let most = try await client.execute(uri: "/infer?tokens=64", method: .get)
            #expect(notANumber.status == .badRequest)
            #expect(tooMany.status == .badRequest)
            #expect(most.status == .ok)
        }
    }

    @Test func errorInjectionAnswers500() async throws {
        try await Self.live(Self.server { $0.errorRate = 1 }) { client in
            let response = try await client.execute(uri: "/infer", method: .get)
            #expect(response.status == .internalServerError)
            #expect(try Self.json(response.body)["error"] == .string("injected failure (--error-rate)"))
        }
    }

    @Test func fullQueueSheds503WithRetryAfter() async throws {
        let server = Self.server {
            $0.workMs = 300; $0.workers = 1; $0.maxQueue = 0
        }
        try await Self.live(server) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        let other = TestClient(host: "127.0.0.1", port: port)
                        other.connect()
                        defer { Task { try? await other.shutdown() } }
                        let response = try await other.get("/infer")
                        return (response.status, response.headers[.retryAfter])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let shed = statuses.filter { $0.0 == .serviceUnavailable }
            #expect(statuses.contains { $0.0 == .ok })
            #expect(shed.count >= 1)
            #expect(shed.allSatisfy { $0.1 == "1" })
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("infer_shed_total \(shed.count)"))
        }
    }

    @Test func idleAndStalledClientsAreDisconnected() async throws {
        // Not `live`: its readiness polls share one connection, which this short idle
        // timeout would close if the test task stalled between two polls.
        try await Self.server { $0.idleTimeout = 4 }.buildApplication().test(.live) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            try await ConnectionAgeLiveTests.waitReady(port: port)
            // A busy connection is not idle: probes every 50 ms for longer than the timeout
            // (a 4 s timeout, so a busy test machine's stall does not make it idle). On a
            // Dispatch thread: other suites' blocking waits can hold the cooperative pool's
            // few threads for seconds, and a probe loop there would stall past the timeout.
            let busy = try RawSocket.connect(port: port)
            defer { close(busy) }
            let answered = await RawSocket.offPool { () -> (ok: Int, sent: Int) in
                let busyUntil = ContinuousClock.now + .milliseconds(4500)
                var ok = 0, sent = 0
                while ContinuousClock.now < busyUntil {
                    RawSocket.send(busy, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    sent += 1
                    if RawSocket.readResponse(busy).hasPrefix("HTTP/1.1 200") { ok += 1 } else { break }
                    usleep(50_000)
                }
                return (ok, sent)
            }
            #expect(
                answered.ok == answered.sent && answered.ok > 10,
                "\(answered.ok) of \(answered.sent) probes answered on one connection")
            // A client that sends half a request head and stalls is closed by the server.
            let fd = try RawSocket.connect(port: port)
            defer { close(fd) }
            RawSocket.send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
            let start = ContinuousClock.now
            let closed = await RawSocket.offPool { RawSocket.waitForClose(fd, within: .seconds(10)) }
            #expect(closed)
            #expect(ContinuousClock.now - start < .seconds(10))
            // A body promised by Content-Length that never arrives is cut off the same way.
            let slow = try RawSocket.connect(port: port)
            defer { close(slow) }
            RawSocket.send(slow, "POST /infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in")
            #expect(await RawSocket.offPool { RawSocket.waitForClose(slow, within: .seconds(10)) })
        }
    }
}

/// Old keep-alive connections end after their next response, so a Service balances the
/// client again; young ones are kept. Both a routed request and a probe (answered in
/// the pipeline) are checked.
@Suite struct ConnectionAgeLiveTests {
    /// Until /readyz answers 200, asked on fresh connections: the test client's own
    /// keep-alive one would be closed by the very setting under test.
    static func waitReady(port: Int) async throws {
        for _ in 0..<400 {
            let probe = try RawSocket.connect(port: port)
            RawSocket.send(probe, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let ready = await RawSocket.offPool { RawSocket.readResponse(probe) }.hasPrefix("HTTP/1.1 200")
            close(probe)
            if ready { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the server never became ready")
    }

    @Test(arguments: ["/infer", "/healthz"])
    func oldConnectionsCloseAfterTheNextResponse(path: String) async throws {
        try await LiveServerTests.server { $0.maxConnectionAge = 1.5 }.buildApplication().test(.live) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            try await Self.waitReady(port: port)
            let fd = try RawSocket.connect(port: port)
            defer { close(fd) }
            let opened = ContinuousClock.now
            RawSocket.send(fd, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            let young = await RawSocket.offPool { RawSocket.readResponse(fd) }
            #expect(young.hasPrefix("HTTP/1.1 200"))
            // Whether the first answer is young depends on the machine's speed: checked
            // only when it came well inside the age.
            if ContinuousClock.now - opened < .seconds(1) {
                #expect(!young.lowercased().contains("connection: close"))
            } else if young.lowercased().contains("connection: close") {
                #expect(await RawSocket.offPool { RawSocket.waitForClose(fd, within: .seconds(5)) })
                return
            }
            // Past the age (1.5 s ± 10 %, counted from when the server took the connection,
            // which a busy machine may do late), a response closes the connection.
            try await Task.sleep(until: opened + .milliseconds(1700))
            var closed = false
            for _ in 0..<20 where !closed {
                RawSocket.send(fd, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
                let old = await RawSocket.offPool { RawSocket.readResponse(fd) }
                #expect(old.hasPrefix("HTTP/1.1 200"), "the whole response is sent before the close")
                if old.lowercased().contains("connection: close") {
                    #expect(await RawSocket.offPool { RawSocket.waitForClose(fd, within: .seconds(5)) })
                    closed = true
                } else {
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            #expect(closed, "an old connection is closed after a response")
        }
    }

    /// Two routed requests pipelined on an old connection: the first answer must not
    /// close the connection under the second; the second closes it.
    @Test func aPipelinedRequestIsAnsweredBeforeTheClose() async throws {
        try await LiveServerTests.server { $0.maxConnectionAge = 0.2 }.buildApplication().test(.live) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            try await Self.waitReady(port: port)
            let fd = try RawSocket.connect(port: port)
            defer { close(fd) }
            try await Task.sleep(for: .milliseconds(800))
            RawSocket.send(fd, "GET /infer HTTP/1.1\r\nHost: x\r\n\r\nGET /infer?tokens=2 HTTP/1.1\r\nHost: x\r\n\r\n")
            // Both answers, then the close, however the bytes arrive.
            let all = await RawSocket.offPool { RawSocket.readUntilClose(fd, within: .seconds(30)) }
            let answers = all.components(separatedBy: "HTTP/1.1 ").filter { !$0.isEmpty }
            #expect(answers.count == 2, "both pipelined requests answered: \(all)")
            #expect(answers.allSatisfy { $0.hasPrefix("200") })
            #expect(answers.first.map { !$0.lowercased().contains("connection: close") } ?? false)
            #expect(
                answers.last.map { $0.lowercased().contains("connection: close") && $0.contains("\"tokens\":2") }
                    ?? false)
        }
    }

    @Test func offByDefault() {
        #expect(ServerConfig().maxConnectionAge == 0)
    }
}

/// A plain TCP socket, for clients no HTTP library would be: stalled, half-sent.
enum RawSocket {
    struct Failure: Error {}

    /// Runs blocking socket I/O on a Dispatch thread: blocking the test's own task would
    /// take one of the cooperative pool's threads (two here), which the server's
    /// handlers need too; with both taken, routed requests stall.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }

    static func connect(port: Int) throws -> Int32 {
        let (fd, error) = Loopback.connect(port: port)
        guard error == 0 else { close(fd); throw Failure() }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }

    /// One response with a Content-Length body (head and body), or what came within 30 s
    /// (generous: the whole suite shares two cores).
    static func readResponse(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let text = String(decoding: bytes, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let head = text[..<headEnd.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.utf8.distance(from: text.startIndex, to: headEnd.upperBound) >= length {
                    return text
                }
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Everything the peer sends until it closes, or until `within` passes.
    static func readUntilClose(_ fd: Int32, within: Duration) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True when the peer closes (read returns 0 or an error) before `within` passes.
    static func waitForClose(_ fd: Int32, within: Duration) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(within.components.seconds * 1000)
        guard poll(&pfd, 1, ms) > 0 else { return false }
        var byte: UInt8 = 0
        return read(fd, &byte, 1) <= 0
    }
}

@Suite struct HTTPDateTests {
    @Test func formatsIMFFixdate() {
        #expect(HTTPDate.format(1_795_920_320) == "Sun, 29 Nov 2026 02:45:20 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }
}
