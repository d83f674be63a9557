import Foundation
import TestSupport
import Testing

/// infer-load and infer-serve over TLS, as ordinary users, with certificates made in the
/// test: trusted with --cacert, refused without it, accepted with --insecure; mutual
/// TLS; and a connection policy (--reuse) that opens what it says.
@Suite(.serialized, .ownThreads, .timeLimit(.minutes(2))) struct TLSProcessTests {
    static let pki = try! TestPKI.shared.files()

    static func records(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Until /readyz answers 200 to infer-load with `client` (its --host and TLS or HTTP/2 flags).
    static func waitReady(_ client: [String]) throws {
        for _ in 0..<100 {
            let probe = try Tools.run("infer-load", client + ["--path", "/readyz", "--requests", "1", "--quiet"])
            if probe.stdout.contains(#""status":200"#) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("infer-serve never became ready to \(client)")
    }

    @Test func httpsIsTrustedWithTheCARefusedWithoutAndAcceptedWhenInsecure() throws {
        let (server, port) = try Tools.startServer([
            "--tls-cert", Self.pki + "/server.pem", "--tls-key", Self.pki + "/server.key", "--work-ms", "1",
        ])
        defer { server.terminate() }
        let url = "https://127.0.0.1:\(port)"
        try Self.waitReady(["--host", url, "--insecure"])
        let trusted = try Tools.run(
            "infer-load", ["--host", url, "--cacert", Self.pki + "/ca.pem", "--requests", "10", "--qps", "50"])
        let ok = try Self.records(trusted.stdout)
        #expect(
            trusted.status == 0 && ok.count == 10 && ok.allSatisfy { $0["status"] as? Int == 200 }, "\(trusted.stderr)")
        // Each connection's handshake, in its first request's record only. How many
        // connections is the machine's business (a slow handshake on a busy machine makes
        // more), so the check is that every one of them, and only they, carries one.
        let opened = trusted.stderr.split(separator: " ").first { $0.hasPrefix("connections=") }.flatMap {
            Int($0.dropFirst(12).prefix { $0.isNumber })
        }
        #expect(
            opened.map { (1...10).contains($0) } == true && ok.filter { $0["connect_ms"] != nil }.count == opened,
            "\(trusted.stderr)")
        let refused = try Tools.run("infer-load", ["--host", url, "--requests", "3", "--qps", "50"])
        let failed = try Self.records(refused.stdout)
        #expect(failed.count == 3 && failed.allSatisfy { $0["error"] as? String == "tls" && $0["status"] as? Int == 0 })
        #expect(
            refused.stderr.contains("CERTIFICATE_VERIFY_FAILED") && refused.stderr.contains("--cacert"),
            "\(refused.stderr)")
        let insecure = try Tools.run("infer-load", ["--host", url, "--insecure", "--requests", "3", "--qps", "50"])
        #expect(try Self.records(insecure.stdout).allSatisfy { $0["status"] as? Int == 200 })
        #expect(insecure.stderr.contains("--insecure: the server's certificate is not verified"))
    }

    @Test func mutualTLSNeedsTheClientCertificate() throws {
        let (server, port) = try Tools.startServer([
            "--tls-cert", Self.pki + "/server.pem", "--tls-key", Self.pki + "/server.key",
            "--tls-client-ca", Self.pki + "/ca.pem", "--work-ms", "1",
        ])
        defer { server.terminate() }
        let url = "https://127.0.0.1:\(port)"
        let withCert = [
            "--host", url, "--cacert", Self.pki + "/ca.pem", "--cert", Self.pki + "/client.pem", "--key",
            Self.pki + "/client.key",
        ]
        try Self.waitReady(withCert)
        let accepted = try Tools.run("infer-load", withCert + ["--requests", "5", "--qps", "50"])
        #expect(
            try Self.records(accepted.stdout).filter { $0["status"] as? Int == 200 }.count == 5, "\(accepted.stderr)")
        let anonymous = try Tools.run(
            "infer-load", ["--host", url, "--cacert", Self.pki + "/ca.pem", "--requests", "3", "--qps", "50"])
        let refused = try Self.records(anonymous.stdout)
        #expect(
            refused.count == 3
                && refused.allSatisfy { $0["status"] as? Int == 0 && $0["error"] != nil && !($0["error"] is NSNull) },
            "\(anonymous.stdout)")
    }

    /// What a connection carried, from a stand-in server that counts per connection: a
    /// policy is checked by counts and order, not by how fast requests overlap (on a busy
    /// machine they do, and a second connection is then right).
    @Test func reuseOneOpensAConnectionPerRequest() throws {
        for reuse in [1, 4, nil] as [Int?] {
            let server = try CountingServer()
            defer { server.close() }
            let run = try Tools.run(
                "infer-load",
                ["--host", "http://127.0.0.1:\(server.port)", "--requests", "12", "--qps", "40"]
                    + (reuse.map { ["--reuse", String($0)] } ?? []))
            let (connections, total) = server.snapshot
            let opened = try Self.records(run.stdout).filter { $0["connect_ms"] != nil }.count
            let carried = connections.map(\.requests)
            #expect(run.stderr.contains("OK=12 ") && total == 12, "\(reuse as Any): \(run.stderr)")
            // Each connection's first record has its connect time; the summary counts them.
            #expect(
                opened == connections.count && Self.summaryInt(run.stderr, "connections") == opened, "\(run.stderr)")
            // None carries more than its limit, and one closed while requests were still
            // coming carried exactly that: retired at the limit, never before.
            let limit = reuse ?? 12
            #expect(carried.allSatisfy { $0 <= limit }, "\(reuse as Any): carried \(carried)")
            let retired = connections.filter { ($0.closedAfter ?? total) < total }
            #expect(retired.allSatisfy { $0.requests == limit }, "\(reuse as Any): closed early after \(retired)")
            if reuse == 1 { #expect(connections.count == 12) }
            if reuse == 4 {
                // infer-stats counts them from the records: the connections, their connect times.
                let stats = try Tools.run("infer-stats", ["--format", "json"], stdin: Data(run.stdout.utf8))
                let json = try #require(
                    try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
                #expect((json["connect_ms"] as? [String: Any])?["count"] as? Int == opened, "\(json)")
            }
        }
        // Refused before any connect: the URL needs no server.
        let url = "http://127.0.0.1:\(Loopback.unusedPort())"
        let bad = try Tools.run("infer-load", ["--host", url, "--reuse", "0"])
        #expect(bad.status == 2 && bad.stderr.contains("--reuse 0"))
        for tick in ["1s", "x", "-1ms"] {
            let badTick = try Tools.run("infer-load", ["--host", url, "--tick", tick])
            #expect(badTick.status == 2 && badTick.stderr.contains("--tick"), "\(tick): \(badTick.stderr)")
        }
        let plainWithCA = try Tools.run("infer-load", ["--host", url, "--cacert", Self.pki + "/ca.pem"])
        #expect(plainWithCA.status == 2 && plainWithCA.stderr.contains("https://"))
    }

    /// HTTP/2 over TLS (ALPN h2) and in the clear (h2c): N requests in flight at once on
    /// one connection, each on its own stream.
    @Test(arguments: [true, false]) func http2MultiplexesRequestsOnOneConnection(tls: Bool) throws {
        let serverTLS =
            tls ? ["--tls-cert", Self.pki + "/server.pem", "--tls-key", Self.pki + "/server.key"] : ["--h2c"]
        // One compute thread at 150 ms a request: eight sent at once finish one after another.
        let (server, port) = try Tools.startServer(
            serverTLS + ["--work-ms", "150", "--workers", "1", "--max-queue", "64"])
        defer { server.terminate() }
        let url = (tls ? "https" : "http") + "://127.0.0.1:\(port)"
        let client = ["--host", url, "--http2"] + (tls ? ["--cacert", Self.pki + "/ca.pem"] : [])
        try Self.waitReady(client)
        // A generous --timeout: on a busy machine 8 × 150 ms of CPU on one thread takes
        // seconds, and a timeout would end the stream and bring a second connection.
        let run = try Tools.run(
            "infer-load", client + ["--requests", "8", "--qps", "400", "--streams", "8", "--timeout", "120"])
        let records = try Self.records(run.stdout)
        #expect(
            run.status == 0 && records.count == 8 && records.allSatisfy { $0["status"] as? Int == 200 }, "\(run.stderr)"
        )
        #expect(Self.summaryInt(run.stderr, "connections") == 1, "\(run.stderr)")
        // In flight together on that one connection: all eight sent before the first answer
        // (which takes 150 ms of the server's CPU), and the last answered after the CPU of
        // seven before it (wall time is never less).
        #expect(Self.sentBeforeFirstAnswer(records) == 8, "\(records)")
        let latencies = records.compactMap { ($0["latency_ms"] as? NSNumber)?.doubleValue }.sorted()
        #expect((latencies.last ?? 0) >= 7 * 150, "\(latencies)")
        // Fewer streams than requests: those in flight together need a connection per four.
        let two = try Tools.run(
            "infer-load", client + ["--requests", "8", "--qps", "400", "--streams", "4", "--timeout", "120"])
        let together = Self.sentBeforeFirstAnswer(try Self.records(two.stdout))
        let connections = Self.summaryInt(two.stderr, "connections") ?? 0
        #expect(
            two.stderr.contains("OK=8 ") && connections >= (together + 3) / 4 && connections <= 2,
            "\(together) in flight together: \(two.stderr)")
    }

    /// The value of `key=` in infer-load's summary line.
    static func summaryInt(_ stderr: String, _ key: String) -> Int? {
        stderr.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix(key + "=") }
            .flatMap { Int($0.dropFirst(key.count + 1)) }
    }

    /// How many requests went out before any answer came back: when each was really sent
    /// (scheduled time + latency − service time) against the first answer's arrival.
    static func sentBeforeFirstAnswer(_ records: [[String: Any]]) -> Int {
        func number(_ record: [String: Any], _ key: String) -> Double {
            (record[key] as? NSNumber)?.doubleValue ?? .nan
        }
        let answered = records.map { number($0, "ts") + number($0, "latency_ms") / 1000 }.min() ?? 0
        return records.filter {
            number($0, "ts") + (number($0, "latency_ms") - number($0, "service_ms")) / 1000 < answered
        }.count
    }

    /// Responses larger than HTTP/2's initial windows (65,535 bytes, for the stream and
    /// for the connection) arrive whole: infer-load gives the windows back as it reads.
    /// Without that the server stops sending at 64 KiB and every request times out.
    @Test func http2ReturnsFlowControlWindows() throws {
        let (server, port) = try Tools.startServer(["--h2c", "--work-ms", "0", "--max-tokens", "3000"])
        defer { server.terminate() }
        let client = ["--host", "http://127.0.0.1:\(port)", "--http2"]
        try Self.waitReady(client)
        let run = try Tools.run(
            "infer-load",
            client + [
                "--api", "openai", "--stream", "--max-tokens", "3000", "--prompt-tokens", "5",
                "--requests", "4", "--qps", "20", "--timeout", "20",
            ])
        let records = try Self.records(run.stdout)
        #expect(run.status == 0 && run.stderr.contains("OK=4") && run.stderr.contains("connections=1"), "\(run.stderr)")
        // Each streamed response is one SSE event per token: well over 64 KiB.
        #expect(
            records.count == 4
                && records.allSatisfy { ($0["tokens_out"] as? Int) == 3000 && ($0["bytes"] as? Int ?? 0) > 65_535 },
            "\(records.map { ($0["tokens_out"] ?? "-", $0["bytes"] ?? "-", $0["error"] ?? "-") })")
    }
}
