import Foundation
import TestSupport
import Testing

/// infer-load as a process against a real infer-serve: pipes, signals, exit statuses.
@Suite(.ownThreads) struct LoadProcessTests {
    @Test func manPageCoversHelp() throws {
        let man = try Tools.checkManPageCoversHelp("infer-load")
        for section in ["OUTPUT FORMAT", "RATE PROFILES", "SIGNALS", "EXIT STATUS", "EXAMPLES"] {
            #expect(man.contains(".Sh \(section)"), "man page lacks \(section)")
        }
    }

    @Test(arguments: [
        ["--host", "ftp://x"], ["--host", "https://127.0.0.1:1", "--cert", "/nonexistent"], ["--qps", "0"],
        ["--steps", "bogus"],
        ["--arrival", "normal"], ["--method", "BREW"], ["--connections", "0"], ["--body-file", "/nonexistent"],
    ])
    func unusableFlagsExit2BeforeAnyRequest(arguments: [String]) throws {
        let result = try Tools.run("infer-load", arguments + ["--requests", "1"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("infer-load: "))
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func recordsAndSummaryAgainstInferServe() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "1"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let result = try Tools.run(
            "infer-load", ["--host", "http://127.0.0.1:\(port)", "--qps", "100", "--requests", "50"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 50)
        #expect(lines.allSatisfy { $0.contains("\"status\":200") && $0.contains("\"pod\":\"") })
        #expect(result.stderr.hasPrefix("OK=50 ERR=0 "), "\(result.stderr)")
    }

    @Test(.timeLimit(.minutes(1)))
    func sigintMidRunLosesNoRecord() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "2"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let load = Tools.spawn("infer-load", ["--host", "http://127.0.0.1:\(port)", "--qps", "200", "--seconds", "30"])
        let out = Pipe(), err = Pipe()
        load.standardOutput = out
        load.standardError = err
        try load.run()
        // Its first records mean it is running, so past installing its signal handling
        // (on a busy machine a signal could otherwise meet a process still starting).
        let first = out.fileHandleForReading.availableData
        nonisolated(unsafe) var stdout = first
        let reader = Thread { stdout += out.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        Thread.sleep(forTimeInterval: 1.0)
        kill(load.processIdentifier, SIGINT)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        load.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        #expect(load.terminationStatus == 130)
        let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n")
        guard
            let scheduled = stderr.split(separator: " ").first(where: { $0.hasPrefix("scheduled=") }).flatMap({
                Int($0.dropFirst(10))
            })
        else {
            Issue.record("no summary: \(stderr)"); return
        }
        #expect(scheduled > 100 && scheduled < 6000)
        #expect(lines.count == scheduled)
        let seqs = Set(
            lines.compactMap { line -> Int? in
                guard let r = line.range(of: #""seq":([0-9]+)"#, options: .regularExpression) else { return nil }
                return Int(line[r].dropFirst(6))
            })
        #expect(seqs == Set(0..<scheduled))
    }

    @Test(.timeLimit(.minutes(1)))
    func closedStdoutEndsQuietly() throws {
        let (server, port) = try Tools.startServer(["--work-ms", "1"])
        defer { server.terminate() }
        try Tools.waitReady(port: port)
        let script =
            #""$0" --host "http://127.0.0.1:$1" --qps 200 --seconds 30 | head -1; echo "status=${PIPESTATUS[0]}" >&2"#
        let start = Date()
        let result = try Tools.bash(script, [Tools.path("infer-load"), String(port)])
        #expect(result.stdout.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("status=0"), "\(result.stderr)")
        // Quietly: no complaint about the closed pipe. (Overload on a busy machine is the
        // load's business, not this test's.)
        #expect(!result.stderr.contains("cannot write") && !result.stderr.contains("pipe"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(start) < 25)
    }
}
