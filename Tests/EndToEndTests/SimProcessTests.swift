import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Testing

/// hpa-sim as a process: its lines, read back by infer-stats; determinism; --compare
/// against the recorded run; errors.
@Suite(.ownThreads) struct SimProcessTests {
    static let fixtures = Tools.root + "/Tests/AutoscalerTests/Fixtures/"

    @Test func linesAreKubeWatchsAndInferStatsReadsThem() throws {
        let run = try Tools.run("hpa-sim", ["--steps", "30:180s,1:60s"])
        #expect(run.status == 0, "\(run.stderr)")
        let again = try Tools.run("hpa-sim", ["--steps", "30:180s,1:60s"])
        #expect(run.stdout == again.stdout, "the same inputs, the same bytes")
        let lines = try run.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let types = Set(lines.compactMap { $0["type"] as? String })
        #expect(types.isSuperset(of: ["hpa", "deployment", "pod", "pod_metrics", "hpa_event"]), "\(types)")
        let sizes = lines.filter { $0["type"] as? String == "hpa_event" }.compactMap { $0["new_size"] as? Int }
        #expect((sizes.first ?? 0) > 1 && sizes.last == 1, "scales up under 30 req/s, back to 1 after: \(sizes)")
        let stats = try Tools.run("infer-stats", [], stdin: Data(run.stdout.utf8))
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("Scaling timeline") && stats.stdout.contains(" up 1→"), "\(stats.stdout)")
    }

    /// The prediction's requests (`requests` lines) are counted by infer-stats as a real
    /// run's are, so its windows, total and scaling timeline read the same way.
    @Test func infersStatsReadsThePredictedRequests() throws {
        let run = try Tools.run("hpa-sim", ["--steps", "5:120s,40:300s,5:300s", "--start", "1796000000"])
        let lines = try run.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let requests = lines.filter { $0["type"] as? String == "requests" }
        let predicted = requests.reduce(0) { $0 + ($1["ok"] as? Int ?? 0) + ($1["shed"] as? Int ?? 0) }
        #expect(
            requests.count > 700 && abs(Double(predicted) - (5 * 120 + 40 * 300 + 5 * 300)) <= 2,
            "\(predicted) requests predicted")
        let stats = try Tools.run("infer-stats", ["--format", "json"], stdin: Data(run.stdout.utf8))
        let objects = try stats.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let total = try #require(objects.first { $0["type"] as? String == "total" })
        #expect(total["requests"] as? Int == predicted)
        let rescales = objects.filter { $0["type"] as? String == "rescale" }
        let firstUp = try #require(rescales.first { $0["direction"] as? String == "up" }, "\(stats.stdout.suffix(600))")
        #expect((firstUp["load_change"] as? NSNumber)?.doubleValue == 1_796_000_120, "the step at +120 s: \(firstUp)")
        #expect((firstUp["load_from"] as? NSNumber)?.doubleValue == 5)
    }

    /// Poisson arrivals: the same seed, the same load; about the profile's count in all.
    @Test func poissonArrivalsAreSeeded() throws {
        let args = ["--qps", "30", "--seconds", "100s", "--arrival", "poisson"]
        let a = try Tools.run("hpa-sim", args + ["--seed", "7"]), b = try Tools.run("hpa-sim", args + ["--seed", "7"])
        let c = try Tools.run("hpa-sim", args + ["--seed", "8"]),
            uniform = try Tools.run("hpa-sim", ["--qps", "30", "--seconds", "100s"])
        #expect(a.status == 0 && a.stdout == b.stdout && a.stdout != c.stdout && a.stdout != uniform.stdout)
        let lines = try a.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let total = lines.filter { $0["type"] as? String == "requests" }.reduce(0) {
            $0 + ($1["ok"] as? Int ?? 0) + ($1["shed"] as? Int ?? 0)
        }
        #expect(abs(total - 3000) < 4 * 55, "3 000 expected, σ ≈ 55: \(total)")
    }

    @Test func compareAgainstTheRecordedRun() throws {
        // The recorded run's offered load, replayed from its per-second counts as records.
        let offered = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "seed-30qps-offered.json")))
                as? [String: Any])
        let start = try #require(offered["start"] as? Double), counts = try #require(offered["per_second"] as? [Int])
        var records = ""
        for (second, n) in counts.enumerated() {
            for i in 0..<n {
                records +=
                    #"{"ts":\#(start + Double(second) + Double(i) / Double(n)),"latency_ms":1,"status":200,"error":null}"#
                    + "\n"
            }
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hpa-sim-\(UUID())").path
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(records.utf8).write(to: URL(fileURLWithPath: folder + "/records.jsonl"))
        let result = try Tools.run(
            "hpa-sim",
            [
                "--replay", folder + "/records.jsonl", "--node-cpu", "1.6",
                "--compare", Self.fixtures + "seed-30qps-hpa-timeline.jsonl",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").filter { $0.hasPrefix("sync phase ") }.count == 10)
        let mean = result.stdout.split(separator: "\n").first { $0.hasPrefix("mean over phases: ") }
        let value = mean.flatMap { Double($0.dropFirst("mean over phases: ".count).prefix { $0 != " " }) }
        #expect((value ?? 0) >= 85, "\(result.stdout)")
        // At the run's own phase, read from its lastScaleTime: every period and every rescale.
        let own = try #require(
            result.stdout.split(separator: "\n").first { $0.hasPrefix("the run's own phase, ") }, "\(result.stdout)")
        #expect(own.contains("17 of 17 sync periods") && own.contains("rescales matched 4 of 4"), "\(own)")
    }

    /// The cluster's timings are flags: start-up to Ready drawn from its range, and the
    /// HPA's lines one sync period apart.
    @Test func clusterTimingsAreFlags() throws {
        let run = try Tools.run(
            "hpa-sim", ["--qps", "30", "--seconds", "120s", "--ready-after", "10s:20s", "--sync-period", "30s"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        func at(_ o: [String: Any]) -> Double { (o["at"] as? NSNumber)?.doubleValue ?? .nan }
        let pods = lines.filter { $0["type"] as? String == "pod" && $0["initial"] == nil }
        let created = Dictionary(
            pods.filter { $0["event"] as? String == "created" }.map { ($0["pod"] as! String, at($0)) },
            uniquingKeysWith: min)
        let delays = pods.filter { $0["event"] as? String == "ready" }.map {
            at($0) - (created[$0["pod"] as! String] ?? .nan)
        }
        #expect(!delays.isEmpty && delays.allSatisfy { $0 >= 10 && $0 <= 20 }, "\(delays)")
        let events = lines.filter { $0["type"] as? String == "hpa_event" }.compactMap {
            ($0["ts"] as? NSNumber)?.doubleValue
        }
        #expect(
            events.count >= 2
                && zip(events, events.dropFirst()).allSatisfy { ($1 - $0).truncatingRemainder(dividingBy: 30) == 0 },
            "\(events)")
    }

    /// The lines on a full disk: an error and exit 1, not a silent 0.
    @Test func aFullDiskIsAnError() throws {
        let result = try Tools.bash(#""$0" --qps 30 --seconds 600s >/dev/full"#, [Tools.path("hpa-sim")])
        #expect(
            result.status == 1 && result.stderr.contains("hpa-sim: stdout: cannot write: No space left on device"),
            "\(result.status) \(result.stderr)")
    }

    @Test(arguments: [
        ["--min", "0"], ["--replay", "/nonexistent"], ["--steps", "fast"], ["--node-cpu", "0"],
        ["--ready-after", "3s:1s"], ["--sync-phase", "15"], ["--metrics-lag", "40s"],
    ])
    func unusableInputExits2(arguments: [String]) throws {
        let result = try Tools.run("hpa-sim", arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(
            result.stderr.hasPrefix("hpa-sim: ") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    /// A sweep of the target: a higher target costs fewer replica-seconds and misses the
    /// SLO no less; each format carries the same rows.
    @Test func sweepOfTheTarget() throws {
        let args = ["--steps", "5:120s,40:300s,5:300s", "--sweep", "target=40:90:50"]
        let json = try Tools.run("hpa-sim", args + ["--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let rows = try json.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        try #require(rows.count == 2, "\(json.stdout)")
        func n(_ row: [String: Any], _ key: String) -> Double { (row[key] as? NSNumber)?.doubleValue ?? .nan }
        #expect(n(rows[0], "target") == 40 && n(rows[1], "target") == 90)
        #expect(n(rows[0], "replica_seconds") > n(rows[1], "replica_seconds"), "\(rows)")
        #expect(n(rows[0], "slo_miss_seconds") <= n(rows[1], "slo_miss_seconds"), "\(rows)")
        #expect(n(rows[0], "peak_replicas") > n(rows[1], "peak_replicas"), "\(rows)")
        let csv = try Tools.run("hpa-sim", args + ["--format", "csv"]).stdout.split(separator: "\n")
        #expect(
            csv.first == "target,replica_seconds,slo_miss_seconds,shed,peak_replicas,recovery_s" && csv.count == 3,
            "\(csv)")
        let bad = try Tools.run("hpa-sim", ["--sweep", "colour=1:2:1"])
        #expect(bad.status == 2)
        // The chart: one point per setting; a chart that cannot be written is a failure.
        let folder = Unprivileged.makeFolder("sweep")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let drawn = try Tools.run("hpa-sim", args + ["--svg", folder + "/sweep.svg"])
        #expect(drawn.status == 0, "\(drawn.stderr)")
        let svg = try String(contentsOfFile: folder + "/sweep.svg", encoding: .utf8)
        #expect(
            svg.components(separatedBy: "<circle class=\"setting\"").count - 1 == 2 && svg.contains("target 40")
                && svg.contains("target 90"))
        #expect(XMLParser(data: Data(svg.utf8)).parse(), "well-formed")
        let full = try Tools.run("hpa-sim", args + ["--svg", "/dev/full"])
        #expect(full.status == 1 && full.stderr.contains("cannot write"), "\(full.stderr)")
    }

    /// --manifests reads the HPA, the container's CPU and the ConfigMap: the recorded
    /// overlay gives what the defaults (the overlay's) give; a changed HPA changes it.
    @Test func manifestsSetTheModel() throws {
        let manifests = Self.fixtures + "manifests-dev-overlay.yaml"
        let fromManifests = try Tools.run("hpa-sim", ["--manifests", manifests, "--steps", "30:180s,1:60s"])
        let fromDefaults = try Tools.run("hpa-sim", ["--steps", "30:180s,1:60s"])
        #expect(fromManifests.status == 0, "\(fromManifests.stderr)")
        #expect(fromManifests.stdout == fromDefaults.stdout)
        let text = try String(contentsOfFile: manifests, encoding: .utf8)
        let capped = text.replacingOccurrences(of: "maxReplicas: 10", with: "maxReplicas: 3")
        #expect(capped != text)
        let result = try Tools.run(
            "hpa-sim", ["--manifests", "-", "--steps", "30:180s,1:60s"], stdin: Data(capped.utf8))
        #expect(
            result.stdout.contains(#""max_replicas":3"#) && !result.stdout.contains(#""new_size":4"#),
            "\(result.stdout.prefix(400))")
        let broken = try Tools.run("hpa-sim", ["--manifests", "-"], stdin: Data("kind: [".utf8))
        #expect(broken.status == 2 && broken.stderr.hasPrefix("hpa-sim: --manifests -: "), "\(broken.stderr)")
    }

    @Test func manPageCoversHelp() throws {
        let man = try Tools.checkManPageCoversHelp("hpa-sim")
        for section in ["THE MODEL", "SWEEPS", "EXIT STATUS", "EXAMPLES"] { #expect(man.contains(".Sh \(section)")) }
    }
}
