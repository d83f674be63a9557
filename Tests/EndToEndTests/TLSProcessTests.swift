import Foundation
import TestSupport
import Testing

/// infer-load and infer-serve over TLS, as ordinary users, with certificates made in the
/// test: trusted with --cacert, refused without it, accepted with --insecure; mutual
/// TLS; and a connection policy (--reuse) that opens what it says.
@Suite(.serialized, .timeLimit(.minutes(2))) struct TLSProcessTests {
    static let pki = try! TestPKI.shared.files()

    static func records(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
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
        let (server, port) = try Tools.startServer(["--tls-cert", Self.pki + "/server.pem", "--tls-key", Self.pki + "/server.key", "--work-ms", "1"])
        defer { server.terminate() }
        let url = "https://127.0.0.1:\(port)"
        try Self.waitReady(["--host", url, "--insecure"])
        let trusted = try Tools.run("infer-load", ["--host", url, "--cacert", Self.pki + "/ca.pem", "--requests", "10", "--qps", "50"])
        let ok = try Self.records(trusted.stdout)
        #expect(trusted.status == 0 && ok.count == 10 && ok.allSatisfy { $0["status"] as? Int == 200 }, "\(trusted.stderr)")
        // Each connection's handshake, in its first request's record only (a slow
        // handshake on a busy machine may make a second connection).
        let opened = trusted.stderr.split(separator: " ").first { $0.hasPrefix("connections=") }.flatMap { Int($0.dropFirst(12).prefix { $0.isNumber }) }
        #expect(opened.map { (1...3).contains($0) } == true && ok.filter { $0["connect_ms"] != nil }.count == opened, "\(trusted.stderr)")
        let refused = try Tools.run("infer-load", ["--host", url, "--requests", "3", "--qps", "50"])
        let failed = try Self.records(refused.stdout)
        #expect(failed.count == 3 && failed.allSatisfy { $0["error"] as? String == "tls" && $0["status"] as? Int == 0 })
        #expect(refused.stderr.contains("CERTIFICATE_VERIFY_FAILED") && refused.stderr.contains("--cacert"), "\(refused.stderr)")
        let insecure = try Tools.run("infer-load", ["--host", url, "--insecure", "--requests", "3", "--qps", "50"])
        #expect(try Self.records(insecure.stdout).allSatisfy { $0["status"] as? Int == 200 })
        #expect(insecure.stderr.contains("--insecure: the server's certificate is not verified"))
    }

    @Test func mutualTLSNeedsTheClientCertificate() throws {
        let (server, port) = try Tools.startServer(["--tls-cert", Self.pki + "/server.pem", "--tls-key", Self.pki + "/server.key",
                                                    "--tls-client-ca", Self.pki + "/ca.pem", "--work-ms", "1"])
        defer { server.terminate() }
        let url = "https://127.0.0.1:\(port)"
        let withCert = ["--host", url, "--cacert", Self.pki + "/ca.pem", "--cert", Self.pki + "/client.pem", "--key", Self.pki + "/client.key"]
        try Self.waitReady(withCert)
        let accepted = try Tools.run("infer-load", withCert + ["--requests", "5", "--qps", "50"])
        #expect(try Self.records(accepted.stdout).filter { $0["status"] as? Int == 200 }.count == 5, "\(accepted.stderr)")
        let anonymous = try Tools.run("infer-load", ["--host", url, "--cacert", Self.pki + "/ca.pem", "--requests", "3", "--qps", "50"])
        let refused = try Self.records(anonymous.stdout)
        #expect(refused.count == 3 && refused.allSatisfy { $0["status"] as? Int == 0 && $0["error"] != nil && !($0["error"] is NSNull) }, "\(anonymous.stdout)")
    }

    @Test func reuseOneOpensAConnectionPerRequest() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "1"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let url = "http://127.0.0.1:\(port)"
        let each = try Tools.run("infer-load", ["--host", url, "--requests", "12", "--qps", "40", "--reuse", "1"])
        #expect(try Self.records(each.stdout).filter { $0["connect_ms"] != nil }.count == 12)
        #expect(each.stderr.contains("OK=12") && each.stderr.contains("connections=12"), "\(each.stderr)")
        let four = try Tools.run("infer-load", ["--host", url, "--requests", "12", "--qps", "40", "--reuse", "4"])
        #expect(four.stderr.contains("OK=12") && four.stderr.contains("connections=3"), "\(four.stderr)")
        // infer-stats counts them from the records: three connections, their connect times.
        let stats = try Tools.run("infer-stats", ["--format", "json"], stdin: Data(four.stdout.utf8))
        let total = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any], "\(stats.stdout)")
        #expect((total["connect_ms"] as? [String: Any])?["count"] as? Int == 3, "\(total)")
        let kept = try Tools.run("infer-load", ["--host", url, "--requests", "12", "--qps", "40"])
        #expect(kept.stderr.contains("OK=12") && kept.stderr.contains("connections=1"), "\(kept.stderr)")
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
        let serverTLS = tls ? ["--tls-cert", Self.pki + "/server.pem", "--tls-key", Self.pki + "/server.key"] : ["--h2c"]
        // One compute thread at 150 ms a request: eight sent at once finish one after another.
        let (server, port) = try Tools.startServer(serverTLS + ["--work-ms", "150", "--workers", "1", "--max-queue", "64"])
        defer { server.terminate() }
        let url = (tls ? "https" : "http") + "://127.0.0.1:\(port)"
        let client = ["--host", url, "--http2"] + (tls ? ["--cacert", Self.pki + "/ca.pem"] : [])
        try Self.waitReady(client)
        let run = try Tools.run("infer-load", client + ["--requests", "8", "--qps", "400", "--streams", "8"])
        let records = try Self.records(run.stdout)
        #expect(run.status == 0 && records.count == 8 && records.allSatisfy { $0["status"] as? Int == 200 }, "\(run.stderr)")
        #expect(run.stderr.contains("connections=1"), "\(run.stderr)")
        // All sent within the first 20 ms of scheduling, answered over ~8 × 150 ms: in flight together.
        let latencies = records.compactMap { ($0["latency_ms"] as? NSNumber)?.doubleValue }.sorted()
        #expect((latencies.last ?? 0) >= 7 * 150 && (latencies.first ?? 0) < 3 * 150, "\(latencies)")
        // Fewer streams than requests: the rest open another connection.
        let two = try Tools.run("infer-load", client + ["--requests", "8", "--qps", "400", "--streams", "4"])
        #expect(two.stderr.contains("OK=8") && two.stderr.contains("connections=2"), "\(two.stderr)")
    }

    /// Responses larger than HTTP/2's initial windows (65,535 bytes, for the stream and
    /// for the connection) arrive whole: infer-load gives the windows back as it reads.
    /// Without that the server stops sending at 64 KiB and every request times out.
    @Test func http2ReturnsFlowControlWindows() throws {
        let (server, port) = try Tools.startServer(["--h2c", "--work-ms", "0", "--max-tokens", "3000"])
        defer { server.terminate() }
        let client = ["--host", "http://127.0.0.1:\(port)", "--http2"]
        try Self.waitReady(client)
        let run = try Tools.run("infer-load", client + ["--api", "openai", "--stream", "--max-tokens", "3000", "--prompt-tokens", "5",
                                                        "--requests", "4", "--qps", "20", "--timeout", "20"])
        let records = try Self.records(run.stdout)
        #expect(run.status == 0 && run.stderr.contains("OK=4") && run.stderr.contains("connections=1"), "\(run.stderr)")
        // Each streamed response is one SSE event per token: well over 64 KiB.
        #expect(records.count == 4 && records.allSatisfy { ($0["tokens_out"] as? Int) == 3000 && ($0["bytes"] as? Int ?? 0) > 65_535 },
                "\(records.map { ($0["tokens_out"] ?? "-", $0["bytes"] ?? "-", $0["error"] ?? "-") })")
    }
}

