import Foundation
import TestSupport
import Testing

/// The README's set-up commands, run as written, so they cannot rot.
@Suite(.ownThreads) struct ReadmeTests {
    /// The commands of the first code block under "## Set up".
    static func setupCommands() throws -> [String] {
        let readme = try String(contentsOfFile: Tools.root + "/README.md", encoding: .utf8)
        guard let section = readme.range(of: "## Set up") else { return [] }
        let rest = readme[section.upperBound...]
        guard let open = rest.range(of: "```sh\n"), let close = rest[open.upperBound...].range(of: "```") else {
            return []
        }
        return rest[open.upperBound..<close.lowerBound].split(separator: "\n").map(String.init)
    }

    @Test func setupIsDemoThenTest() throws {
        #expect(try Self.setupCommands() == ["bin/demo", "bin/test"])
        for script in ["bin/demo", "bin/test"] {
            #expect(FileManager.default.isExecutableFile(atPath: Tools.root + "/" + script))
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func demoRunsAsWritten() throws {
        let command = try #require(Self.setupCommands().first)
        let out = Unprivileged.makeFolder("demo")
        defer { try? FileManager.default.removeItem(atPath: out) }
        // A short profile, still past the server's capacity (2 workers × 1000/20 ms = 100/s) and back.
        let result = try Tools.bash(
            command,
            environment: [
                "STEPS": "30:2s,200:2s,30:2s", "INTERVAL": "1s", "OUT": out, "INFER_SIM_BIN": Tools.binDir,
            ])
        let (report, log) = (result.stdout, result.stderr)
        #expect(result.status == 0, "\(log)")
        #expect(report.contains("Requests "), "\(report)")
        #expect(log.contains("done: records, report and chart in \(out)/"))
        let records = try String(contentsOfFile: out + "/records.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(records.count > 400)
        // Past capacity the server sheds: some 503s among the 200s.
        #expect(records.contains { $0.contains("\"status\":503") })
        #expect(records.contains { $0.contains("\"status\":200") })
        #expect(FileManager.default.fileExists(atPath: out + "/chart.svg"))
        #expect(try String(contentsOfFile: out + "/report.txt", encoding: .utf8) == report)
        // The server was stopped: its log ends with its last words.
        #expect(try String(contentsOfFile: out + "/server.log", encoding: .utf8).contains("\"msg\":\"stopped\""))
    }
}

/// bin/install puts the tools and man pages where `man` finds them.
@Suite(.ownThreads) struct InstallTests {
    @Test func installsToolsAndManPages() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("prefix-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let install = try Tools.bash(
            "bin/install", environment: ["PREFIX": prefix, "INFER_SIM_BIN": Tools.binDir], privileged: true)
        #expect(install.status == 0, "\(install.stderr)")
        for tool in ["infer-serve", "infer-load", "infer-stats", "kube-wait", "kube-watch", "hpa-sim", "infer-sim"] {
            #expect(FileManager.default.isExecutableFile(atPath: "\(prefix)/bin/\(tool)"))
            #expect(FileManager.default.fileExists(atPath: "\(prefix)/share/man/man1/\(tool).1"))
        }
        // What `man infer-load` shows: the installed page renders.
        let text = try Tools.execute("/usr/bin/env", ["mandoc", "-Tmarkdown", "\(prefix)/share/man/man1/infer-load.1"])
            .stdout
        #expect(text.contains("OUTPUT FORMAT"))
    }
}
