import Foundation
import TestSupport
import Testing

/// Where a new user broke the tools: as an ordinary user, on a full disk, behind a
/// stalled reader, with far-apart timestamps and a byte-order mark. Each test failed
/// before its fix.
// Serialized: the stalled-reader and access-log tests each load the machine, and the
// first measures scheduling lag.
@Suite(.serialized, .ownThreads) struct HardeningTests {
    static func record(_ ts: Double, seq: Int = 0) -> String {
        #"{"ts":\#(ts),"seq":\#(seq),"latency_ms":1.5,"service_ms":1.0,"status":200,"bytes":10,"error":null,"pod":"p"}"#
    }

    static func summaryValue(_ stderr: String, _ key: String) -> Double? {
        guard let line = stderr.split(separator: "\n").last(where: { $0.hasPrefix("OK=") }) else { return nil }
        return line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap {
            Double($0.dropFirst(key.count + 1))
        }
    }

    // MARK: - Unprivileged

    @Test func toolsRunAsAnOrdinaryUserWhenTestsRunAsRoot() throws {
        let uid = try Tools.bash("id -u").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(uid != "0", "spawned tools run as root: tests would hide privilege bugs")
        if Unprivileged.isActive { #expect(uid == String(Unprivileged.uid)) }
    }

    @Test(.timeLimit(.minutes(1)))
    func loadConnectsAsAnOrdinaryUser() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "1"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let result = try Tools.run(
            "infer-load", ["--host", "http://127.0.0.1:\(port)", "--path", "/infer", "--qps", "20", "--requests", "5"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { $0.contains("\"status\":200") && $0.contains("\"error\":null") }, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("OK=5 ERR=0 "), "\(result.stderr)")
    }

    @Test(.timeLimit(.minutes(1)))
    func aFailedConnectSaysWhyOnce() throws {
        let port = Loopback.unusedPort()
        let result = try Tools.run(
            "infer-load", ["--host", "http://127.0.0.1:\(port)", "--qps", "50", "--requests", "3"])
        #expect(result.stdout.split(separator: "\n").count == 3)
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.contains("\"error\":\"connect\"") })
        let causes = result.stderr.split(separator: "\n").filter { $0.hasPrefix("infer-load: connect: ") }
        #expect(causes == ["infer-load: connect: connect to 127.0.0.1:\(port): Connection refused"], "\(result.stderr)")
    }

    // MARK: - Write errors

    @Test(arguments: [
        ["--format", "text"], ["--format", "json"], ["--format", "csv"], ["--format", "markdown"],
        ["--interval", "1s"], ["--format", "json", "--interval", "1s"],
    ])
    func statsReportsAFullDisk(arguments: [String]) throws {
        let records = (0..<50).map { Self.record(1000 + Double($0) * 0.1, seq: $0) }.joined(separator: "\n") + "\n"
        let result = try Tools.bash(
            #"printf '%s' "$RECORDS" | "$0" "$@" >/dev/full"#, [Tools.path("infer-stats")] + arguments,
            environment: ["RECORDS": records])
        #expect(result.status == 1, "\(arguments): exit \(result.status)")
        #expect(
            result.stderr.contains("infer-stats: stdout: cannot write: No space left on device"), "\(result.stderr)")
    }

    @Test(.timeLimit(.minutes(1)))
    func loadReportsAFullDiskAndStops() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "1"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let start = Date()
        let result = try Tools.bash(
            #""$0" --host "http://127.0.0.1:$1" --path /healthz --qps 100 --seconds 20 >/dev/full"#,
            [Tools.path("infer-load"), String(port)])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("infer-load: stdout: cannot write: No space left on device"), "\(result.stderr)")
        // It stops scheduling at once (not after the 20 s asked for), and counts what was lost.
        #expect(Date().timeIntervalSince(start) < 12)
        let scheduled = try #require(Self.summaryValue(result.stderr, "scheduled"))
        let unwritten = try #require(Self.summaryValue(result.stderr, "unwritten"), "\(result.stderr)")
        #expect(unwritten == scheduled && scheduled >= 1)
    }

    // MARK: - Stalled readers

    @Test(.timeLimit(.minutes(1)))
    func aStalledReaderDelaysNoSendAndLosesNoRecord() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "1"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        // 600/s for 5 s; the reader sleeps 4 s, long after the 64 KiB pipe is full (~0.7 s).
        let result = try Tools.bash(
            #""$0" --host "http://127.0.0.1:$1" --path /healthz --qps 600 --seconds 5 --connections 1024 | (sleep 4; cat)"#,
            [Tools.path("infer-load"), String(port)])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3000)
        let seqs = Set(
            lines.compactMap { line -> Int? in
                guard let r = line.range(of: #""seq":([0-9]+)"#, options: .regularExpression) else { return nil }
                return Int(line[r].dropFirst(6))
            })
        #expect(seqs == Set(0..<3000))
        // Writing on the event loop, the stall showed as ~3.3 s of schedule lag; alone this
        // run's is under 5 ms, and the bound leaves room for a busy machine running the
        // other suites in parallel.
        let lag = try #require(Self.summaryValue(result.stderr, "lag_p99_ms"), "\(result.stderr)")
        #expect(lag < 1_500, "p99 schedule lag \(lag) ms behind a stalled reader")
    }

    @Test(.timeLimit(.minutes(2)))
    func anAccessLogNobodyReadsBlocksNoRequest() throws {
        // stderr is read up to the "listening" line, then not at all: the pipe fills after
        // ~450 access-log lines, the log's own buffer (1 MiB) after ~7,500 more.
        let (server, listening, err) = try Tools.startServerKeepingLog(["--work-ms", "1", "--access-log"])
        defer { server.terminate() }
        // Counts, not a rate: batches until 9,000 requests were answered, well past both
        // buffers, at whatever pace the machine allows. A log written on the event loop
        // stalled the server once the pipe was full: every request after ~450 timed out.
        // A busy machine only sheds some as overload (--max-inflight), never a timeout.
        let load = [
            "--host", "http://127.0.0.1:\(listening)", "--path", "/healthz", "--requests", "3000", "--qps", "1500",
            "--timeout", "5", "--max-inflight", "64", "--connections", "64",
        ]
        var answered = 0.0, batches = 0
        while answered < 9_000, batches < 30 {
            let result = try Tools.run("infer-load", load)
            batches += 1
            let ok = try #require(Self.summaryValue(result.stderr, "OK"), "\(result.stderr)")
            let errors = result.stderr.split(separator: " ").first { $0.hasPrefix("errors=") } ?? ""
            let kinds = errors.dropFirst(7).split(separator: ",").map { $0.split(separator: ":")[0] }
            #expect(
                result.status == 0 && kinds.allSatisfy { $0 == "overload" },
                "after \(Int(answered)) answered, requests failed: \(result.stderr)")
            guard ok > 0, kinds.allSatisfy({ $0 == "overload" }) else { break }
            answered += ok
        }
        #expect(answered >= 9_000, "\(Int(answered)) answered in \(batches) batches")
        // Once read again, the log says it had to drop lines (with the next line it logs):
        // the proof that both buffers were full while the requests above were answered.
        let log = Collected()
        let reader = Thread {
            while case let chunk = err.availableData, !chunk.isEmpty { log.append(chunk) }
        }
        reader.start()
        let probe = ["--host", "http://127.0.0.1:\(listening)", "--path", "/healthz", "--requests", "1", "--quiet"]
        var probes = 0
        while !log.text.contains("log lines dropped"), probes < 60 {
            _ = try Tools.run("infer-load", probe)
            probes += 1
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(
            log.text.contains("\"msg\":\"log lines dropped: stderr is read too slowly\""), "\(log.text.suffix(500))")
    }

    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    // MARK: - Hostile input

    @Test(.timeLimit(.minutes(1)))
    func farApartRecordsCostNoMemory() throws {
        let records =
            [Self.record(1, seq: 0), Self.record(1e9, seq: 1), Self.record(1.76e9, seq: 2)].joined(separator: "\n")
            + "\n"
        let folder = Unprivileged.makeFolder("gap")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Max RSS of infer-stats alone: python3 waits for it as its only child.
        let measure = #"""
            import resource, subprocess, sys
            # Bounded, so a regression fails here instead of swapping the machine for hours.
            limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
            run = subprocess.run(sys.argv[1:], input=sys.stdin.buffer.read(), capture_output=True, timeout=60, preexec_fn=limit)
            sys.stdout.buffer.write(run.stdout)
            sys.stderr.write("maxrss_kb=%d exit=%d\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, run.returncode))
            """#
        for format in ["text", "json", "csv", "markdown"] {
            let result = try Tools.execute(
                "/usr/bin/env",
                [
                    "python3", "-c", measure, Tools.path("infer-stats"), "--interval", "1s",
                    "--format", format, "--svg", folder + "/chart.svg",
                ], stdin: Data(records.utf8))
            #expect(result.stderr.contains("exit=0"), "\(format): \(result.stderr)")
            let rss = result.stderr.split(separator: " ").first { $0.hasPrefix("maxrss_kb=") }.flatMap {
                Int($0.dropFirst(10))
            }
            #expect((rss ?? .max) < 30_000, "\(format): max RSS \(rss ?? -1) kB")
            let rows = result.stdout.split(separator: "\n")
            switch format {
            case "json":
                #expect(rows.filter { $0.hasPrefix("{\"type\":\"window\"") }.count == 3)
                #expect(
                    rows.contains {
                        $0.hasPrefix("{\"type\":\"gap\",\"start\":2.0,\"end\":1000000000.0,\"seconds\":999999998.0")
                    }, "\(result.stdout)")
                #expect(rows.filter { $0.hasPrefix("{\"type\":\"gap\"") }.count == 2)
            case "csv":
                #expect(rows.filter { $0.hasPrefix("window,") }.count == 3)
                #expect(rows.filter { $0.hasPrefix("gap,") }.count == 2)
                #expect(
                    Set(rows.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).count }).count
                        == 1,
                    "rows of different widths: \(result.stdout)")
            default:
                #expect(
                    rows.filter { $0.contains("no records for 31.7 years") }.count == 1, "\(format): \(result.stdout)")
                #expect(
                    rows.filter { $0.contains("no records for 24.1 years") }.count == 1, "\(format): \(result.stdout)")
            }
            let svg = try String(contentsOfFile: folder + "/chart.svg", encoding: .utf8)
            #expect(svg.components(separatedBy: "class=\"gap\"").count - 1 == 2 * 4, "a gap band per gap in each panel")
        }
    }

    @Test func aLeadingByteOrderMarkIsSkipped() throws {
        let bom = "\u{FEFF}"
        let records = bom + Self.record(1000) + "\n" + Self.record(1001, seq: 1) + "\n"
        let folder = Unprivileged.makeFolder("bom")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/records.jsonl"
        try records.write(toFile: file, atomically: true, encoding: .utf8)
        let fromStdin = try Tools.run("infer-stats", ["--strict", "--format", "json"], stdin: Data(records.utf8))
        let fromFile = try Tools.run(
            "infer-stats", ["--strict", "--format", "json", file, "-"], stdin: Data(records.utf8))
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(fromStdin.stdout.contains("\"requests\":2,"))
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.stdout.contains("\"requests\":4,"), "each input's own BOM is skipped")
        // Anywhere else it is not JSON.
        let inside = Self.record(1000) + "\n" + bom + Self.record(1001, seq: 1) + "\n"
        let strict = try Tools.run("infer-stats", ["--strict"], stdin: Data(inside.utf8))
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("<stdin>:2: not JSON"), "\(strict.stderr)")
    }
}
