import Dispatch
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import InferServer
import JSON
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Streams on a live server over raw sockets, so a test sees each event when it comes
/// and can hang up: shedding, disconnects, interleaving, and the metrics they leave.
@Suite struct OpenAIStreamTests {
    static func request(_ body: String, path: String = "/v1/completions") -> String {
        "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            + body
    }

    static func streamBody(tokens: Int) -> String {
        #"{"model":"sim-mlp-2x128","prompt":"tell me a story","max_tokens":\#(tokens),"stream":true}"#
    }

    /// Reads until `count` token events have come (or the stream ends, or 30 s pass with
    /// nothing new: a stall, not slowness, which a busy machine has plenty of); returns
    /// when each arrived (s since `start`) and what was read.
    static func readEvents(
        _ fd: Int32, count: Int, since start: ContinuousClock.Instant = .now
    ) -> (times: [Double], text: String) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var times: [Double] = []
        var lastRead = ContinuousClock.now
        while times.count < count, ContinuousClock.now - lastRead < .seconds(30) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            lastRead = ContinuousClock.now
            bytes += chunk[0..<n]
            let events = String(decoding: bytes, as: UTF8.self).components(separatedBy: #""text":""#).count - 1
            let elapsed = ContinuousClock.now - start
            while times.count < min(events, count) {
                times.append(Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
            }
        }
        return (times, String(decoding: bytes, as: UTF8.self))
    }

    static func metric(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap {
            Double($0.split(separator: " ").last ?? "")
        }
    }

    @Test func aFullBatchAndQueueShed503WithRetryAfter() async throws {
        try await LiveServerTests.live(
            LiveServerTests.server {
                $0.maxBatch = 1; $0.maxQueue = 0; $0.workMs = 30
            }
        ) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            let fd = try RawSocket.connect(port: port)
            defer { close(fd) }
            RawSocket.send(fd, Self.request(Self.streamBody(tokens: 60)))
            let started = await RawSocket.offPool { Self.readEvents(fd, count: 1) }
            #expect(started.times.count == 1, "\(started.text)")
            let shed = try await OpenAITests.post(client, "/v1/completions", #"{"model":"sim-mlp-2x128","prompt":"x"}"#)
            #expect(shed.status == .serviceUnavailable)
            #expect(shed.headers[.retryAfter] == "1")
            #expect(try OpenAITests.object(shed).object("error")?["type"] == .string("server_error"))
        }
    }

    /// A client that hangs up mid-stream stops its generation at the next token: far
    /// fewer tokens are made than asked for, and the request counts as aborted.
    @Test func aDisconnectStopsTheWork() async throws {
        try await LiveServerTests.live(LiveServerTests.server { $0.workMs = 20 }) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            let fd = try RawSocket.connect(port: port)
            RawSocket.send(fd, Self.request(Self.streamBody(tokens: 64)))
            let got = await RawSocket.offPool { Self.readEvents(fd, count: 3) }
            #expect(got.times.count == 3)
            close(fd)
            // 64 tokens would take 1.3 s of CPU; wait longer than that, then count.
            var text = ""
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(100))
                text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                if Self.metric(text, #"vllm:request_success_total{model_name="sim-mlp-2x128",finished_reason="abort"}"#)
                    == 1
                {
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(1500))
            text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(
                Self.metric(text, #"vllm:request_success_total{model_name="sim-mlp-2x128",finished_reason="abort"}"#)
                    == 1, "\(text)")
            let made = Self.metric(text, #"vllm:generation_tokens_total{model_name="sim-mlp-2x128"}"#) ?? .nan
            #expect(made >= 3 && made < 20, "tokens made after the hang-up: \(made) of 64")
            #expect(Self.metric(text, #"vllm:num_requests_running{model_name="sim-mlp-2x128"}"#) == 0)
        }
    }

    /// Two streams on one worker both make progress: their tokens interleave rather
    /// than one waiting for the other to finish.
    @Test(.timeLimit(.minutes(3))) func twoStreamsInterleave() async throws {
        try await LiveServerTests.live(
            LiveServerTests.server {
                $0.workMs = 15; $0.workers = 1
            }
        ) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            let a = try RawSocket.connect(port: port), b = try RawSocket.connect(port: port)
            defer { close(a); close(b) }
            RawSocket.send(a, Self.request(Self.streamBody(tokens: 30)))
            RawSocket.send(b, Self.request(Self.streamBody(tokens: 30)))
            let start = ContinuousClock.now
            async let first = RawSocket.offPool { Self.readEvents(a, count: 30, since: start) }
            async let second = RawSocket.offPool { Self.readEvents(b, count: 30, since: start) }
            let (x, y) = await (first, second)
            #expect(x.times.count == 30 && y.times.count == 30, "\(x.text.suffix(300)) / \(y.text.suffix(300))")
            guard let xFirst = x.times.first, let yFirst = y.times.first, let xLast = x.times.last,
                let yLast = y.times.last
            else { return }
            // Each started before the other finished (one after the other, the second's
            // first token would come after the first's last).
            #expect(yFirst < xLast && xFirst < yLast, "a: \(xFirst)…\(xLast) s, b: \(yFirst)…\(yLast) s")
        }
    }

    @Test func metricsHaveVLLMsNamesAndLabels() async throws {
        try await LiveServerTests.live(LiveServerTests.server()) { client in
            let body = #"{"model":"sim-mlp-2x128","prompt":"Say this is a test","max_tokens":4}"#
            #expect(try await OpenAITests.post(client, "/v1/completions", body).status == .ok)
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let label = #"model_name="sim-mlp-2x128""#
            for needle in [
                "vllm:num_requests_running{\(label)} 0", "vllm:num_requests_waiting{\(label)} 0",
                "vllm:time_to_first_token_seconds_count{\(label)} 1",
                "vllm:inter_token_latency_seconds_count{\(label)} 3",
                "vllm:time_per_output_token_seconds_count{\(label)} 3",
                "vllm:e2e_request_latency_seconds_count{\(label)} 1",
                "vllm:request_queue_time_seconds_count{\(label)} 1", "vllm:prompt_tokens_total{\(label)} 5",
                "vllm:generation_tokens_total{\(label)} 4",
                #"vllm:request_success_total{\#(label),finished_reason="length"} 1"#,
                #"infer_http_requests_total{route="/v1/completions",status="200"} 1"#,
            ] {
                #expect(text.contains(needle), "metrics lack \(needle)")
            }
            #expect(text.contains("# TYPE vllm:time_to_first_token_seconds histogram"))
        }
    }
}

/// A place in the batch comes back exactly once: released, or dropped with a response
/// whose body never ran.
@Suite struct GenerationSlotsTests {
    @Test func aLeaseGivesItsPlaceBackOnce() async throws {
        let slots = GenerationSlots(maxRunning: 1, maxWaiting: 0)
        var lease: GenerationSlots.Lease? = try await slots.acquire()
        await #expect(throws: GenerationSlots.Full.self) { _ = try await slots.acquire() }
        lease = nil  // dropped unused
        #expect(lease == nil && slots.counts.running == 0)
        let held = try await slots.acquire()
        held.release()
        held.release()
        #expect(slots.counts.running == 0, "released twice, given back once")
    }
}
