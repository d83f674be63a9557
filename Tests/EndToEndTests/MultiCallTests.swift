import Foundation
import TestSupport
import Testing

/// infer-sim, the one binary the container image carries, runs each tool by the name of
/// the link it was started through, or by its first argument.
@Suite(.ownThreads) struct MultiCallTests {
    @Test func linksRunTheToolTheyAreNamedFor() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("infer-sim-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for tool in ["infer-serve", "infer-load", "infer-stats", "kube-wait", "kube-watch", "hpa-sim"] {
            try FileManager.default.createSymbolicLink(
                atPath: folder + "/" + tool, withDestinationPath: Tools.path("infer-sim"))
            let viaLink = try Tools.execute(folder + "/" + tool, ["--help"])
            let direct = try Tools.run(tool, ["--help"])
            #expect(viaLink.status == 0)
            #expect(viaLink.stdout == direct.stdout, "\(tool) through a link")
        }
        // The same records through the link and through the tool's own binary.
        let records = Data(
            """
            {"ts":1.0,"seq":0,"status":200,"latency_ms":5.0,"ok":true,"error":null}
            {"ts":1.5,"seq":1,"status":503,"latency_ms":9.0,"ok":false,"error":"http_503"}

            """.utf8)
        let viaLink = try Tools.execute(folder + "/infer-stats", ["--format", "json"], stdin: records)
        let direct = try Tools.run("infer-stats", ["--format", "json"], stdin: records)
        #expect(viaLink.status == 0 && viaLink.stdout == direct.stdout)
        #expect(viaLink.stdout.contains("\"errors\""))
    }

    @Test func firstArgumentNamesTheTool() throws {
        let version = try Tools.run("infer-sim", ["infer-load", "--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty)
        #expect(version.stdout == (try Tools.run("infer-load", ["--version"])).stdout)
        let unknown = try Tools.run("infer-sim", ["infer-nothing"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("infer-serve") && unknown.stderr.contains("kube-wait"))
        let usageError = try Tools.run("infer-sim", ["infer-load", "--qps", "fast"])
        #expect(usageError.status == 2 && usageError.stderr.hasPrefix("infer-load: "))
    }
}
