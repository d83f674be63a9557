import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Testing

/// infer-stats as a process: formats that parse back, bad lines, signals, the chart.
@Suite(.ownThreads) struct StatsProcessTests {
    static func record(
        _ ts: Double, _ latency: Double, status: Int = 200, error: String? = nil, pod: String? = "pod-a"
    ) -> String {
        let e = error.map { "\"\($0)\"" } ?? "null"
        let p = pod.map { "\"\($0)\"" } ?? "null"
        return
            #"{"ts":\#(ts),"seq":0,"latency_ms":\#(latency),"service_ms":\#(latency / 2),"status":\#(status),"bytes":10,"error":\#(e),"pod":\#(p)}"#
    }

    static let sample: String = {
        var lines: [String] = []
        for i in 0..<200 {
            let ts = 1000 + Double(i) * 0.1
            let latency = Double(i % 50) + 1
            let status = i % 40 == 0 ? 503 : 200
            lines.append(record(ts, latency, status: status, pod: i % 3 == 0 ? "pod-b" : "pod-a"))
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func manPageCoversHelp() throws {
        let man = try Tools.checkManPageCoversHelp("infer-stats")
        for section in ["INPUT", "OUTPUT", "WINDOWS", "EXIT STATUS", "EXAMPLES"] {
            #expect(man.contains(".Sh \(section)"), "man page lacks \(section)")
        }
    }

    @Test func textReportOfAKnownInput() throws {
        let result = try Tools.run("infer-stats", [], stdin: Data(Self.sample.utf8))
        #expect(result.status == 0)
        #expect(result.stdout.contains("Requests     200 over 19.90 s: 10.0 req/s offered"), "\(result.stdout)")
        #expect(result.stdout.contains("200: 195  503: 5"))
        #expect(result.stdout.contains("pod-a"))
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }

    @Test func jsonParsesBackWithWindowsAndTotal() throws {
        let result = try Tools.run(
            "infer-stats", ["--format", "json", "--interval", "5s", "--hist"], stdin: Data(Self.sample.utf8))
        #expect(result.status == 0)
        let objects = try result.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(objects.count == 5)  // windows at 1000, 1005, 1010, 1015, then the total
        #expect(objects.dropLast().allSatisfy { $0["type"] as? String == "window" })
        let total = try #require(objects.last)
        #expect(total["type"] as? String == "total")
        #expect(total["requests"] as? Int == 200)
        #expect((total["status"] as? [String: Int]) == ["200": 195, "503": 5])
        let latency = try #require(total["latency_ms"] as? [String: Double])
        #expect(latency["max"] == 50 && latency["min"] == 1)
        #expect(latency.keys.contains("p99.9"))
        #expect((total["pods"] as? [[String: Any]])?.count == 2)
        #expect((total["histogram"] as? [[String: Any]])?.isEmpty == false)
        #expect(objects.dropLast().map { $0["requests"] as! Int }.reduce(0, +) == 200)
    }

    @Test func csvParsesBack() throws {
        let result = try Tools.run(
            "infer-stats", ["--format", "csv", "--interval", "10s"], stdin: Data(Self.sample.utf8))
        #expect(result.status == 0)
        let rows = result.stdout.split(separator: "\n").map { Self.csvFields(String($0)) }
        let header = try #require(rows.first)
        #expect(rows.dropFirst().allSatisfy { $0.count == header.count })
        let requests = try #require(header.firstIndex(of: "requests"))
        let type = try #require(header.firstIndex(of: "type"))
        #expect(rows.last?[type] == "total" && rows.last?[requests] == "200")
        let pods = try #require(header.firstIndex(of: "pods"))
        #expect(rows.last?[pods] == "pod-a:133;pod-b:67")
    }

    /// RFC 4180 fields, quoted or not.
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = [], field = "", quoted = false, chars = Array(line), i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" && i + 1 < chars.count && chars[i + 1] == "\"" {
                    field.append("\""); i += 1
                } else if c == "\"" {
                    quoted = false
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field); field = ""
            } else {
                field.append(c)
            }
            i += 1
        }
        fields.append(field)
        return fields
    }

    @Test func markdownHasTables() throws {
        let result = try Tools.run("infer-stats", ["--format", "markdown"], stdin: Data(Self.sample.utf8))
        #expect(result.status == 0)
        #expect(result.stdout.contains("| requests | 200 |"))
        #expect(result.stdout.contains("| pod-a | 133 |"))
    }

    @Test func mergedFilesEqualTheirConcatenation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stats-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = Self.sample.split(separator: "\n")
        let a = dir.appendingPathComponent("a.jsonl"), b = dir.appendingPathComponent("b.jsonl")
        try (lines.enumerated().filter { $0.offset % 2 == 0 }.map(\.element).joined(separator: "\n") + "\n").write(
            to: a, atomically: true, encoding: .utf8)
        try (lines.enumerated().filter { $0.offset % 2 == 1 }.map(\.element).joined(separator: "\n") + "\n").write(
            to: b, atomically: true, encoding: .utf8)
        let merged = try Tools.run("infer-stats", ["--format", "json", a.path, b.path])
        let whole = try Tools.run("infer-stats", ["--format", "json"], stdin: Data(Self.sample.utf8))
        #expect(merged.status == 0)
        #expect(merged.stdout == whole.stdout)
        let missing = try Tools.run("infer-stats", [dir.appendingPathComponent("nope").path])
        #expect(missing.status == 2 && missing.stderr.contains("nope"))
    }

    @Test func malformedLinesAreReportedAndStrictFails() throws {
        let input =
            Self.record(1, 1) + "\nnot json\n" + Self.record(2, 2) + "\n{\"ts\":3}\n" + #"{"ts":4,"latency_ms":1,"sta"#
        let lenient = try Tools.run("infer-stats", [], stdin: Data(input.utf8))
        #expect(lenient.status == 0)
        #expect(lenient.stderr.contains("<stdin>:2: not JSON"))
        #expect(lenient.stderr.contains("<stdin>:4: missing key"))
        #expect(lenient.stderr.contains("<stdin>:5: truncated last line"))
        #expect(lenient.stdout.contains("Skipped      3 malformed lines"))
        #expect(lenient.stdout.contains("Requests     2 "))
        let strict = try Tools.run("infer-stats", ["--strict"], stdin: Data(input.utf8))
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("Requests     2 "))
    }

    @Test func emptyInputSaysNoRecords() throws {
        let result = try Tools.run("infer-stats", [], stdin: Data())
        #expect(result.status == 0)
        #expect(result.stdout.contains("No records"))
        let json = try Tools.run("infer-stats", ["--format", "json"], stdin: Data())
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["requests"] as? Int == 0)
    }

    @Test(arguments: [["--format", "yaml"], ["--interval", "soon"], ["--percentiles", "50,200"], ["--late", "x"]])
    func badOptionsExit2(arguments: [String]) throws {
        let result = try Tools.run("infer-stats", arguments, stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("infer-stats: "))
    }

    @Test func svgIsWellFormedWithTheExpectedSeries() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chart-\(UUID()).svg").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Tools.run("infer-stats", ["--svg", path, "--interval", "2s"], stdin: Data(Self.sample.utf8))
        #expect(result.status == 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        final class Collector: NSObject, XMLParserDelegate {
            var series: [String] = []
            var points: [String: Int] = [:]
            var root: String?
            func parser(
                _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String]
            ) {
                if root == nil { root = name }
                if name == "path", let s = attributes["data-series"] {
                    series.append(s)
                    points[s] =
                        (attributes["d"] ?? "").split(separator: " ").filter { $0.first == "M" || $0.first == "L" }
                        .count
                }
            }
        }
        let parser = XMLParser(data: data)
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "SVG is not well-formed XML: \(String(describing: parser.parserError))")
        #expect(collector.root == "svg")
        // 200 records over 20 s in 2 s windows: ten points on every line.
        for name in ["p50", "p90", "p99", "offered", "ok", "failures", "pod-a", "pod-b"] {
            #expect(collector.series.contains(name), "chart lacks \(name)")
            #expect(
                collector.points[name] == 10, "\(name) has \(collector.points[name] ?? 0) points, not one per window")
        }
    }

    /// infer-stats reading a pipe that has had 120 records and stays open, known to be
    /// reading (so past installing its signal handling: a signal sent while a busy machine
    /// is still starting the process would find the default action): it has printed its
    /// first 1 s window row, returned as `seen`.
    static func statsReading120Lines() throws -> (process: Process, input: Pipe, out: Pipe, seen: Data) {
        let process = Tools.spawn("infer-stats", ["--interval", "1s", "--late", "0s"])
        let input = Pipe(), out = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let lines = Self.sample.split(separator: "\n").prefix(120).joined(separator: "\n") + "\n"
        try input.fileHandleForWriting.write(contentsOf: Data(lines.utf8))
        return (process, input, out, out.fileHandleForReading.availableData)
    }

    @Test(.timeLimit(.minutes(1)))
    func sigintMidStreamPrintsTheReport() throws {
        let (process, input, out, seen) = try Self.statsReading120Lines()
        kill(process.processIdentifier, SIGINT)
        // The producer goes away, as infer-load does after its grace.
        Thread.sleep(forTimeInterval: 0.3)
        try input.fileHandleForWriting.close()
        let stdout = String(decoding: seen + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(stdout.contains("Requests     120 "), "\(stdout)")
    }

    /// A producer that goes silent but keeps its end open: the read blocked on it must
    /// still end, after the drain time on one signal, at once on a second.
    @Test(.timeLimit(.minutes(1)), arguments: [false, true])
    func signalsEndAReadBlockedOnASilentProducer(secondSignal: Bool) throws {
        let (process, input, out, seen) = try Self.statsReading120Lines()
        let start = Date()
        kill(process.processIdentifier, SIGTERM)
        if secondSignal {
            Thread.sleep(forTimeInterval: 0.3)
            kill(process.processIdentifier, SIGINT)
        }
        let stdout = String(decoding: seen + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let took = Date().timeIntervalSince(start)
        try input.fileHandleForWriting.close()
        #expect(process.terminationStatus == 143, "the first signal, SIGTERM, names the status")
        #expect(stdout.contains("Requests     120 "), "\(stdout)")
        if secondSignal {
            #expect(took < 5, "a second signal stops at once, not after the 6 s drain (took \(took) s)")
        } else {
            #expect(took >= 5.5, "one signal drains for 6 s first (took \(took) s)")
        }
    }

    /// kube-watch's lines merged with records (a second input, or the same stream):
    /// the rows carry the scaling state at each window's end, and a type this version
    /// does not know is counted, not malformed.
    @Test func scalingLinesJoinTheWindows() throws {
        let t0 = 1_796_000_000.0
        var records = ""
        for i in 0..<300 {
            records +=
                #"{"ts":\#(t0 + Double(i) * 0.1),"seq":\#(i),"latency_ms":5.0,"service_ms":4.0,"status":200,"bytes":10,"error":null,"pod":"p-a"}"#
                + "\n"
        }
        let scaling =
            [
                #"{"ts":\#(t0 - 1),"type":"hpa","name":"h","desired_replicas":1,"current_replicas":1,"current_utilization_pct":10,"target_utilization_pct":60}"#,
                #"{"ts":\#(t0 - 1),"type":"deployment","name":"d","ready":1}"#,
                #"{"ts":\#(t0 + 12),"type":"hpa","name":"h","desired_replicas":3,"current_replicas":1,"current_utilization_pct":150,"target_utilization_pct":60}"#,
                #"{"ts":\#(t0 + 15),"type":"deployment","name":"d","ready":3}"#,
                #"{"ts":\#(t0 + 16),"type":"from_the_future","x":1}"#,
            ].joined(separator: "\n") + "\n"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scaling-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(records.utf8).write(to: URL(fileURLWithPath: folder + "/records.jsonl"))
        try Data(scaling.utf8).write(to: URL(fileURLWithPath: folder + "/scaling.jsonl"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
        let result = try Tools.run(
            "infer-stats", ["--interval", "5s", "--strict", folder + "/records.jsonl", folder + "/scaling.jsonl"])
        #expect(result.status == 0, "typed lines are not malformed: \(result.stderr)")
        let rows = result.stdout.split(separator: "\n").filter { $0.hasPrefix("00:") || $0.hasPrefix("window") }
        #expect(rows.first?.hasSuffix("replicas    cpu%") == true, "\(result.stdout)")
        // ready/desired and cpu current/target as of each window's end.
        #expect(
            rows.dropFirst().map { $0.split(separator: " ").suffix(2).joined(separator: " ") }
                == ["1/1 10/60", "1/1 10/60", "1/3 150/60", "3/3 150/60", "3/3 150/60", "3/3 150/60"],
            "\(result.stdout)")
        #expect(
            result.stdout.contains(
                "Scaling      kube-watch lines: deployment 2  hpa 2; 1 of types this version does not read, ignored"))
        // One merged stream reads the same.
        let merged = try Tools.run(
            "infer-stats", ["--interval", "5s", "--format", "json"], stdin: Data((scaling + records).utf8))
        let windows = merged.stdout.split(separator: "\n").filter { $0.contains(#""type":"window""#) }
        #expect(windows.count == 6)
        #expect(
            windows[2].contains(
                #""scaling":{"desired_replicas":3,"current_replicas":1,"ready_replicas":1,"cpu_utilization_pct":150,"cpu_target_pct":60}"#
            ), "\(windows[2])")
        // CSV and Markdown rows carry the same, in columns of their own.
        let csv = try Tools.run(
            "infer-stats", ["--interval", "5s", "--format", "csv"], stdin: Data((scaling + records).utf8)
        ).stdout
        let csvLines = csv.split(separator: "\n")
        #expect(
            csvLines.first?.hasSuffix(
                ",desired_replicas,current_replicas,ready_replicas,cpu_utilization_pct,cpu_target_pct") == true)
        #expect(csvLines.dropFirst(3).first?.hasSuffix(",3,1,1,150,60") == true, "\(csv)")
        #expect(
            Set(csvLines.prefix(8).map { $0.split(separator: ",", omittingEmptySubsequences: false).count }).count == 1,
            "one column count: \(csv)")
        let markdown = try Tools.run(
            "infer-stats", ["--interval", "5s", "--format", "markdown"], stdin: Data((scaling + records).utf8)
        ).stdout
        #expect(markdown.contains("| replicas (ready/desired) | HPA CPU % (current/target) |"))
        #expect(markdown.contains("| 1/3 | 150/60 |"), "\(markdown)")
    }

    /// A synthetic run with a known story: 2 → 20 req/s at +60 s, p99 10 → 200 ms until
    /// +100 s; the HPA over target at +70, rescale 1 → 3 at +75, pods Ready at +82 and
    /// +84 and serving from +85; back to 2 req/s at +180, under target at +200, rescale
    /// 3 → 1 at +215, pods deleted at +221 and +221.5. Every interval of the timeline
    /// is known, so each is checked exactly.
    @Test func theScalingTimelineOfAKnownRun() throws {
        let t0 = 1_796_000_000.0
        var records = "", firstServed: [String: Double] = [:], lastServed: [String: Double] = [:]
        var t = 0.0, seq = 0
        while t < 300 {
            // The Service keeps sending to p-b and p-c a moment after they begin terminating (+215.1).
            let pod = t < 85 || t >= 217 ? "p-a" : ["p-a", "p-b", "p-c"][seq % 3]
            let latency = t >= 60 && t < 100 ? 200.0 : 10.0
            records +=
                #"{"ts":\#(t0 + t),"seq":\#(seq),"latency_ms":\#(latency),"service_ms":\#(latency),"status":200,"bytes":10,"error":null,"pod":"\#(pod)"}"#
                + "\n"
            firstServed[pod] = firstServed[pod] ?? t + latency / 1000
            lastServed[pod] = t + latency / 1000
            seq += 1
            t = ((t + (t < 60 || t >= 180 ? 0.5 : 0.05)) * 1000).rounded() / 1000
        }
        func hpa(_ ts: Double, _ cpu: Int, _ desired: Int) -> String {
            #"{"ts":\#(t0 + ts),"type":"hpa","name":"h","desired_replicas":\#(desired),"current_replicas":\#(desired),"current_utilization_pct":\#(cpu),"target_utilization_pct":60}"#
        }
        func pod(_ ts: Double, _ name: String, _ event: String) -> String {
            #"{"ts":\#(t0 + ts),"type":"pod","pod":"\#(name)","event":"\#(event)","at":null}"#
        }
        func rescale(_ ts: Double, _ size: Int) -> String {
            #"{"ts":\#(t0 + ts),"type":"hpa_event","name":"h","reason":"SuccessfulRescale","event_type":"Normal","message":"New size: \#(size)","new_size":\#(size)}"#
        }
        let scaling = [
            hpa(-5, 10, 1), hpa(70, 150, 1), rescale(75, 3), pod(75.05, "p-b", "created"), pod(75.06, "p-c", "created"),
            pod(82, "p-b", "ready"), pod(84, "p-c", "ready"), hpa(200, 20, 3), rescale(215, 1),
            pod(215.1, "p-b", "terminating"), pod(215.1, "p-c", "terminating"), pod(221, "p-b", "deleted"),
            pod(221.5, "p-c", "deleted"),
            hpa(230, 20, 1),
        ]
        let input = Data((scaling.joined(separator: "\n") + "\n" + records).utf8)
        let result = try Tools.run("infer-stats", ["--format", "json"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let rescales = try result.stdout.split(separator: "\n").filter { $0.contains(#""type":"rescale""#) }
            .map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        try #require(rescales.count == 2, "\(result.stdout)")
        let up = rescales[0], down = rescales[1]
        func num(_ o: [String: Any], _ key: String) -> Double? { (o[key] as? NSNumber)?.doubleValue }
        func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 0.002 } ?? false }
        #expect(up["direction"] as? String == "up" && num(up, "from") == 1 && num(up, "to") == 3)
        #expect(num(up, "load_change") == t0 + 60 && num(up, "load_from") == 2 && num(up, "load_to") == 20)
        #expect(num(up, "crossed_s") == 10 && num(up, "rescale_s") == 15, "\(up)")
        #expect(
            num(up, "p99_before_ms") == 10 && num(up, "p99_back_s") == 50,
            "back under 10 ms in the window that ends at +110: \(up)")
        let upPods = try #require(up["pods"] as? [[String: Any]])
        #expect(upPods.map { $0["pod"] as? String } == ["p-b", "p-c"])
        #expect(upPods.map { num($0, "ready_s") } == [22, 24])
        #expect(close(num(upPods[0], "first_served_s"), firstServed["p-b"]! - 60), "\(upPods[0])")
        #expect(close(num(upPods[1], "first_served_s"), firstServed["p-c"]! - 60), "\(upPods[1])")
        #expect(down["direction"] as? String == "down" && num(down, "from") == 3 && num(down, "to") == 1)
        #expect(
            num(down, "load_change") == t0 + 180 && num(down, "crossed_s") == 20 && num(down, "rescale_s") == 35,
            "\(down)")
        let downPods = try #require(down["pods"] as? [[String: Any]])
        #expect(downPods.map { num($0, "deleted_s") } == [41, 41.5])
        #expect(close(num(downPods[0], "last_served_s"), lastServed["p-b"]! - 180), "\(downPods[0])")
        // The chart gains the replicas panel: desired as steps 1 → 3 → 1, on the same time axis.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("timeline-\(UUID())").path
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let chart = try Tools.run("infer-stats", ["--svg", folder + "/chart.svg"], stdin: input)
        #expect(chart.status == 0, "\(chart.stderr)")
        let svg = try String(contentsOfFile: folder + "/chart.svg", encoding: .utf8)
        #expect(
            svg.contains("Replicas (HPA desired and current, Deployment ready)")
                && svg.contains("HPA CPU (% of request; target dashed)"))
        let desired = try #require(svg.split(separator: "\n").first { $0.contains(#"data-series="desired""#) })
        let d = String(desired.split(separator: "d=\"")[1].prefix { $0 != "\"" })
        // y of each step (M x,y or V y), runs of equal levels collapsed.
        let levels = d.split(separator: " ").compactMap { token -> Double? in
            if token.first == "M" { return Double(token.split(separator: ",")[1]) }
            if token.first == "V" { return Double(token.dropFirst()) }
            return nil
        }.reduce(into: [Double]()) { runs, y in if runs.last != y { runs.append(y) } }
        #expect(
            levels.count == 3 && levels[0] == levels[2] && levels[1] < levels[0], "1 → 3 → 1 replicas as steps: \(d)")
        // The text report has the section, in the same numbers.
        let text = try Tools.run("infer-stats", [], stdin: input).stdout
        #expect(text.contains("Scaling timeline (seconds after the load change)"))
        #expect(text.contains("over target +10.0   rescale +15.0   p99 back +50.0"), "\(text)")
    }
}
