import Foundation
import TestSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// infer-serve as a process: flags, exit statuses, the man page, and draining on SIGTERM.
@Suite(.ownThreads) struct ServeProcessTests {
    @Test func versionAndHelp() throws {
        let version = try Tools.run("infer-serve", ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("0."))
        let help = try Tools.run("infer-serve", ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("INFER_WORK_MS"))
    }

    @Test(
        arguments: [
            (["--work-ms", "abc"], [:], "--work-ms"),
            (["--port", "99999"], [:], "--port"),
            ([], ["INFER_ERROR_RATE": "2"], "INFER_ERROR_RATE"),
            (["--no-such-flag"], [:], "--no-such-flag"),
        ] as [([String], [String: String], String)])
    func badSettingsExit2WithOneLine(arguments: [String], environment: [String: String], names: String) throws {
        let result = try Tools.run("infer-serve", arguments, environment: environment)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("infer-serve: "))
        #expect(result.stderr.split(separator: "\n").first?.contains(names) == true, "\(result.stderr)")
    }

    @Test func manPageListsEveryHelpFlag() throws {
        let man = try Tools.checkManPageCoversHelp("infer-serve")
        for env in ["INFER_WORK_MS", "INFER_PORT", "INFER_MAX_QUEUE", "INFER_DRAIN_SECONDS", "POD_NAME"] {
            #expect(man.contains(env), "man page lacks \(env)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func sigtermDrainsInFlightRequestsThenExits0() async throws {
        let (process, port) = try Tools.startServer(["--work-ms", "1000", "--workers", "2", "--max-queue", "8"])
        defer { if process.isRunning { process.terminate() } }
        try Tools.waitReady(port: port, within: 60)

        // Four requests in flight (two running, two queued: about 2 s of work).
        let responses = Task {
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        // 2 s of work when the machine is quiet; on a busy one it can pass the
                        // client's default 15 s without a byte, which is not what this tests.
                        let client = TestClient(
                            host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120)))
                        client.connect()
                        let status = try await client.get("/infer").status
                        try? await client.shutdown()
                        return status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
        }
        // Wait until the server has admitted all four (a request still in a socket
        // buffer when the server quiesces is closed unanswered, as in any server).
        let watcher = TestClient(host: "127.0.0.1", port: port)
        watcher.connect()
        let admitted = ContinuousClock.now + .seconds(60)
        while !String(buffer: try await watcher.get("/metrics").body ?? ByteBuffer()).contains(
            "infer_inflight_requests 4")
        {
            try #require(ContinuousClock.now < admitted, "the four requests were never in flight together")
            try await Task.sleep(for: .milliseconds(25))
        }
        try await watcher.shutdown()
        kill(process.processIdentifier, SIGTERM)
        // The listener closes: a new connection is refused while the old ones finish. Polled
        // (the signal takes a moment on a busy machine) until refused or the four answered:
        // a server that kept accepting through its drain is never refused.
        let answered = Flag()
        Task {
            _ = try? await responses.value; answered.set()
        }
        var refused = false
        while !refused, !answered.isSet {
            let (fd, error) = Loopback.connect(port: port)
            close(fd)
            refused = error == ECONNREFUSED
            if !refused { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(refused, "new connections accepted through the drain")

        let statuses = try await responses.value
        #expect(statuses == [.ok, .ok, .ok, .ok])
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        #expect(process.terminationReason == .exit)
    }
}

/// Set once, read from any thread.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

@Suite(.ownThreads) struct KubeWaitManTests {
    @Test func manPageCoversHelp() throws {
        let man = try Tools.checkManPageCoversHelp("kube-wait")
        for section in ["TARGETS", "CONDITIONS", "CONFIGURATION AND AUTH", "OUTPUT", "EXIT STATUS", "EXAMPLES"] {
            #expect(man.contains(".Sh \(section)"), "man page lacks \(section)")
        }
    }
}

@Suite(.ownThreads) struct KubeWatchManTests {
    @Test func manPageCoversHelp() throws {
        let man = try Tools.checkManPageCoversHelp("kube-watch")
        for section in ["OPTIONS", "SIGNALS", "EXIT STATUS", "EXAMPLES"] {
            #expect(man.contains(".Sh \(section)"), "man page lacks \(section)")
        }
    }
}
