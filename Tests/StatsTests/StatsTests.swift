import Foundation
import Records
@testable import Stats
import Testing

/// Feeds lines to an engine the way infer-stats does.
func engine(
    _ lines: [String], percentiles: [Double] = [50, 90, 99], interval: Double? = nil, lateness: Double = 0,
    emitted: inout [Windows.Window]
) -> StatsEngine {
    var engine = StatsEngine(percentiles: percentiles, interval: interval, lateness: lateness, keepSeries: true)
    var decoder = RecordDecoder()
    for (n, line) in lines.enumerated() {
        let bytes = Array(line.utf8)
        let problem = bytes.withUnsafeBytes { decoder.decode($0) }
        if let problem {
            engine.addMalformed(source: "test", line: n + 1, reason: problem.description)
        } else {
            emitted += engine.add(&decoder)
        }
    }
    emitted += engine.finish()
    return engine
}

func engine(_ lines: [String], percentiles: [Double] = [50, 90, 99]) -> StatsEngine {
    var ignored: [Windows.Window] = []
    return engine(lines, percentiles: percentiles, emitted: &ignored)
}

func line(
    ts: Double, latency: Double, service: Double? = nil, status: Int = 200, bytes: Int = 10, error: String? = nil,
    pod: String? = "a"
) -> String {
    Array(
        RecordEncoder.line(
            Record(
                ts: ts, seq: 0, latencyMs: latency, serviceMs: service ?? latency, status: status, bytes: bytes,
                error: error, pod: pod)
        ).dropLast()
    )
    .withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
}

@Suite struct DecoderTests {
    func decode(_ text: String) -> (RecordDecoder, RecordDecoder.Malformed?) {
        var decoder = RecordDecoder()
        let problem = Array(text.utf8).withUnsafeBytes { decoder.decode($0) }
        return (decoder, problem)
    }

    @Test func fastPathReadsGeneratorLines() {
        let (d, problem) = decode(
            #"{"ts":1795920319.002194,"seq":7,"latency_ms":12.345,"service_ms":0.5,"status":503,"bytes":120,"error":"overload","pod":"dev-x"}"#
        )
        #expect(problem == nil)
        #expect(d.value(.ts) == 1795920319.002194 && d.value(.latencyMs) == 12.345 && d.number(.serviceMs) == 0.5)
        #expect(d.integer(.status) == 503 && d.integer(.bytes) == 120)
        #expect(d.string(.error) == Array("overload".utf8))
        #expect(d.string(.pod) == Array("dev-x".utf8))
        #expect(d.slowPathLines == 0)
    }

    /// The token keys, on the fast path and through jansson alike; bad ones are malformed.
    @Test func tokenKeysOnBothPaths() {
        let fast =
            #"{"ts":10,"seq":1,"latency_ms":80,"service_ms":79,"status":200,"bytes":9,"error":null,"pod":"p","ttft_ms":25.5,"itl_ms":5.25,"itl_max_ms":null,"tokens_in":40,"tokens_out":10}"#
        let (d, problem) = decode(fast)
        #expect(problem == nil && d.slowPathLines == 0)
        #expect(
            d.number(.ttftMs) == 25.5 && d.number(.itlMs) == 5.25 && d.number(.itlMaxMs) == nil
                && d.integer(.tokensIn) == 40 && d.integer(.tokensOut) == 10 && d.hasAny(of: .completion))
        let (j, jProblem) = decode(fast.replacingOccurrences(of: #""pod":"p""#, with: #""pod":"pé""#))
        #expect(jProblem == nil && j.slowPathLines == 1)
        #expect(
            j.number(.ttftMs) == 25.5 && j.number(.itlMs) == 5.25 && j.number(.itlMaxMs) == nil
                && j.integer(.tokensIn) == 40 && j.integer(.tokensOut) == 10)
        let (plain, _) = decode(#"{"ts":10,"latency_ms":1,"status":200,"error":null}"#)
        #expect(!plain.hasAny(of: .completion))
        for bad in [#""ttft_ms":-1"#, #""tokens_out":2.5"#, #""itl_ms":"fast""#, #""tokens_in":-3"#] {
            let (_, verdict) = decode(#"{"ts":10,"latency_ms":1,"status":200,"error":null,\#(bad)}"#)
            #expect(verdict != nil, "\(bad) accepted")
        }
    }

    /// connect_ms (a connection's first request), on the fast path and through jansson.
    @Test func connectTimeOnBothPaths() {
        let fast =
            #"{"ts":10,"seq":1,"latency_ms":80,"service_ms":79,"status":200,"bytes":9,"error":null,"pod":"p","connect_ms":3.25}"#
        let (d, problem) = decode(fast)
        #expect(problem == nil && d.slowPathLines == 0 && d.number(.connectMs) == 3.25)
        let (j, jProblem) = decode(fast.replacingOccurrences(of: #""pod":"p""#, with: #""pod":"pé""#))
        #expect(jProblem == nil && j.slowPathLines == 1 && j.number(.connectMs) == 3.25)
        let (after, _) = decode(#"{"ts":10,"latency_ms":1,"status":200,"error":null}"#)
        #expect(after.number(.connectMs) == nil)
        for bad in [#""connect_ms":-1"#, #""connect_ms":"slow""#] {
            let (_, verdict) = decode(#"{"ts":10,"latency_ms":1,"status":200,"error":null,\#(bad)}"#)
            #expect(verdict != nil, "\(bad) accepted")
        }
    }

    @Test func otherShapesGoThroughJanssonAndAgree() {
        // Spaces, reordered keys, unknown nested keys, escapes and exponents.
        let (d, problem) = decode(
            #" { "pod" : "p\u00e9" , "extra": {"a": [1, 2]}, "status": 200, "error": null, "latency_ms": 1.5e1, "ts": 10 } "#
        )
        #expect(problem == nil)
        #expect(d.slowPathLines == 1)
        #expect(d.value(.latencyMs) == 15 && d.value(.ts) == 10 && d.integer(.status) == 200 && d.string(.error) == nil)
        #expect(d.string(.pod) == Array("pé".utf8))
        #expect(d.number(.serviceMs) == nil)
    }

    @Test(arguments: [
        ("not json", "not JSON"), ("{\"ts\": 1, \"latency_ms\": 2, \"status\": 200", "not JSON"),
        ("{}", "missing key \"ts\""),
        (#"{"ts":"x","latency_ms":1,"status":200,"error":null}"#, "\"ts\" must be a number"),
        (#"{"ts":1,"latency_ms":1,"status":200.5,"error":null}"#, "\"status\" must be an integer"),
        (#"{"ts":1,"latency_ms":1,"status":200}"#, "missing key \"error\""),
        (#"{"ts":1,"latency_ms":-1,"status":200,"error":null}"#, "\"latency_ms\" must be a number ≥ 0"),
        (#"{"ts":1,"latency_ms":1,"status":200,"error":5}"#, "\"error\" must be a string or null"),
        (#"{"ts":1,"latency_ms":1,"status":200,"error":null,"pod":7}"#, "\"pod\" must be a string or null"),
        (#"[1,2,3]"#, "not JSON"), (#"{"ts":1,"latency_ms":1,"status":200,"error":null} trailing"#, "not JSON"),
        (#"{"ts":01,"latency_ms":1,"status":200,"error":null}"#, "not JSON"),
    ])
    func malformedLinesSayWhy(text: String, reason: String) {
        let (_, problem) = decode(text)
        #expect(problem != nil)
        #expect(problem?.description.hasPrefix(reason) == true, "\(problem?.description ?? "nil")")
    }
}

@Suite struct AggregateTests {
    @Test func percentilesAndCountsMatchAHandComputation() {
        // Latencies 1..100 ms: nearest-rank p50 = 50, p90 = 90, p99 = 99.
        var lines: [String] = []
        for i in 1...100 {
            let ms = Double(i)
            lines.append(line(ts: 1000 + ms * 0.01, latency: ms, service: ms / 2, pod: i % 4 == 0 ? "b" : "a"))
        }
        lines.append(line(ts: 1001.5, latency: 5000, status: 0, bytes: 0, error: "timeout", pod: nil))
        lines.append(line(ts: 1001.6, latency: 3, status: 503, bytes: 20))
        let e = engine(lines)
        let r = e.totalReport()
        #expect(r.requests == 102 && r.successes == 100 && r.failures == 2)
        #expect(r.status.map { $0.code } == [0, 200, 503])
        #expect(r.errors.map { $0.kind } == ["timeout"])
        // Errors are not in the latency distribution; the 503 answer is.
        #expect(r.latency.count == 101)
        #expect(r.latency.min == 1 && r.latency.max == 100)
        var p: [Double: Double] = [:]
        for (level, ms) in r.latency.percentiles { p[level] = ms }
        #expect(abs(p[50]! - 50) <= 0.05 && abs(p[90]! - 90) <= 0.1 && abs(p[99]! - 99) <= 0.1)
        #expect(abs(r.latency.mean - (5050.0 + 3) / 101) < 1e-9)
        #expect(abs(r.service.max - 50) < 1e-9)
        #expect(r.bytes == 100 * 10 + 20)
        #expect(r.pods.map(\.name) == ["a", "b"] && r.pods.map(\.requests) == [76, 25])
        #expect(abs(r.pods[0].share - 76.0 / 101.0) < 1e-12)
        // 102 records from 1000.01 to 1001.6: rate = n / (span · n/(n−1)) = 101 / 1.59.
        #expect(abs(r.rate - 101 / 1.59) < 1e-6)
    }

    @Test func mergeOfTwoStreamsEqualsTheirConcatenation() {
        let a = (0..<50).map { line(ts: Double($0), latency: Double($0 % 7) + 0.5, pod: "a") }
        let b = (0..<50).map { line(ts: Double($0) + 0.5, latency: Double($0 % 5) * 3, pod: "b") }
        let whole = engine(a + b).totalReport()
        let interleaved = engine(zip(a, b).flatMap { [$0, $1] }).totalReport()
        #expect(whole.requests == interleaved.requests)
        // Exact but for the last bits of the running mean, which depend on the order.
        #expect(whole.latency.count == interleaved.latency.count)
        #expect(whole.latency.min == interleaved.latency.min && whole.latency.max == interleaved.latency.max)
        #expect(whole.latency.percentiles.map { $0.ms } == interleaved.latency.percentiles.map { $0.ms })
        #expect(abs(whole.latency.mean - interleaved.latency.mean) < 1e-9)
        #expect(abs(whole.latency.stdev - interleaved.latency.stdev) < 1e-9)
        #expect(whole.pods == interleaved.pods)
        #expect(whole.rate == interleaved.rate)
    }

    @Test func emptyInputIsAnEmptyReport() {
        let r = engine([]).totalReport()
        #expect(r.requests == 0 && r.rate == 0 && r.latency.count == 0 && r.pods.isEmpty)
    }

    @Test func malformedLinesAreCountedWithLineNumbers() {
        let lines = [
            line(ts: 1, latency: 1), "garbage", line(ts: 2, latency: 2), "{\"ts\":1}", "",
            "{\"ts\":3,\"latency_ms\":1,\"status\":200,\"error\":null}",
        ]
        let e = engine(lines)
        #expect(e.total.requests == 3)
        #expect(e.malformed == 3)
        #expect(e.malformedSamples.map { $0.line } == [2, 4, 5])
    }
}

@Suite struct WindowTests {
    @Test func windowsComeOutInOrderWhenComplete() {
        var emitted: [Windows.Window] = []
        // 10 s windows; records slightly out of order; a gap (no records in 20–30).
        let ts: [Double] = [1, 3, 2, 12, 11, 15, 35, 33, 41]
        _ = engine(ts.map { line(ts: $0, latency: $0) }, interval: 10, lateness: 1, emitted: &emitted)
        #expect(emitted.map(\.start) == [0, 10, 20, 30, 40])
        #expect(emitted.map(\.aggregate.requests) == [3, 3, 0, 2, 1])
    }

    @Test func lateRecordsCountInTheTotalOnly() {
        var emitted: [Windows.Window] = []
        let ts: [Double] = [1, 2, 14, 16, 3, 25]  // 3 arrives after window 0 was printed (lateness 2)
        let e = engine(ts.map { line(ts: $0, latency: 1) }, interval: 10, lateness: 2, emitted: &emitted)
        #expect(e.lateRecords == 1)
        #expect(e.total.requests == 6)
        #expect(emitted.map(\.aggregate.requests) == [2, 2, 1])
        #expect(e.series.count == 3)
    }

    @Test func windowIsHeldUntilTheLatenessHasPassed() {
        var w = Windows(interval: 10, lateness: 5)
        _ = w.add(ts: 1, latencyMs: 1, serviceMs: nil, status: 200, bytes: 0, errorID: nil, podID: nil)
        _ = w.add(ts: 12, latencyMs: 1, serviceMs: nil, status: 200, bytes: 0, errorID: nil, podID: nil)
        #expect(w.complete().isEmpty)
        _ = w.add(ts: 15.5, latencyMs: 1, serviceMs: nil, status: 200, bytes: 0, errorID: nil, podID: nil)
        #expect(w.complete().map(\.index) == [0])
        #expect(w.flush().map(\.index) == [1])
    }

    @Test func shortStallsAreEmptyWindowsLongOnesOneGap() {
        var w = Windows(interval: 1, lateness: 0)
        func add(_ ts: Double) {
            _ = w.add(ts: ts, latencyMs: 1, serviceMs: nil, status: 200, bytes: 0, errorID: nil, podID: nil)
        }
        add(0.5)
        add(Double(Windows.longestEmptyRun) + 1.5)  // exactly longestEmptyRun empty windows between: shown one by one
        add(1.76e9)  // far away: one gap, not 1.76e9 windows
        let done = w.complete() + w.flush()
        #expect(done.filter { !$0.isGap }.count == 2 + Windows.longestEmptyRun + 1)
        let gaps = done.filter(\.isGap)
        #expect(gaps.count == 1)
        #expect(gaps.first?.start == Double(Windows.longestEmptyRun) + 2)
        #expect(gaps.first?.end == 1.76e9)
        #expect(done.map(\.start) == done.map(\.start).sorted(), "in time order")
    }
}

@Suite struct HostileInputTests {
    @Test(arguments: [
        #"{"ts":1e300,"latency_ms":1,"status":200,"error":null}"#,
        #"{"ts":999999999999999999,"latency_ms":1,"status":200,"error":null}"#,
        #"{"ts":-5,"latency_ms":1,"status":200,"error":null}"#,
        #"{"ts":1,"latency_ms":999999999999999999,"status":200,"error":null}"#,
        #"{"ts":1,"latency_ms":1e308,"status":200,"error":null}"#,
        #"{"ts":1,"latency_ms":1,"service_ms":1e300,"status":200,"error":null}"#,
        #"{"ts":1,"latency_ms":1,"status":99999999,"error":null}"#,
        #"{"ts":1,"latency_ms":1,"status":200,"bytes":-4,"error":null}"#,
    ])
    func extremeValuesAreMalformedNotACrash(_ text: String) {
        var emitted: [Windows.Window] = []
        let e = engine([text], interval: 10, emitted: &emitted)
        #expect(e.malformed == 1 && e.total.requests == 0)
    }

    @Test func slowestLatenciesAreClampedNotACrash() {
        let e = engine([line(ts: 1, latency: 5e9)])  // 58 days, in ms
        #expect(e.total.requests == 1)
        #expect(e.totalReport().latency.max == 5e9)
    }

    @Test func distinctNamesAreBounded() {
        var interner = Interner()
        for i in 0..<(Interner.limit + 50) { _ = interner.id("pod-\(i)") }
        #expect(interner.count == Interner.limit + 1)
        #expect(interner.names.last == "(other)")
        #expect(interner.id("pod-999999") == Interner.limit)
    }
}

/// Completions' tokens: percentiles on known values, rates, per pod and per window, in
/// the formats; nothing of them for records without tokens.
@Suite struct TokenStatsTests {
    static func completion(_ i: Int, pod: String = "a") -> String {
        let record = Record(
            ts: 1000 + Double(i) / 10, seq: i, latencyMs: 200, serviceMs: 200, status: 200, bytes: 10, error: nil,
            pod: pod,
            tokens: Record.Tokens(
                ttftMs: Double(i + 1), itlMs: Double(i % 10 + 1) / 2, itlMaxMs: 9, tokensIn: 20, tokensOut: 5))
        return String(decoding: RecordEncoder.line(record).dropLast(), as: UTF8.self)
    }

    static func near(_ a: Double?, _ b: Double, _ relative: Double) -> Bool {
        a.map { abs($0 - b) <= b * relative } ?? false
    }

    @Test func percentilesOfKnownValues() throws {
        // TTFT 1…100 ms over 100 completions, 10 s apart in all (0.1 s each).
        let e = engine((0..<100).map { Self.completion($0, pod: $0 < 60 ? "a" : "b") }, percentiles: [50, 90, 99])
        let tokens = try #require(e.totalReport().tokens)
        #expect(tokens.completions == 100 && tokens.tokensIn == 2000 && tokens.tokensOut == 500)
        // Within the histogram's 3 significant digits (windows and pods keep 2).
        #expect(
            zip(tokens.ttft.percentiles.map(\.ms), [50.0, 90, 99]).allSatisfy { Self.near($0, $1, 0.001) },
            "\(tokens.ttft)")
        #expect(tokens.ttft.min == 1 && tokens.ttft.max == 100)
        #expect(Self.near(tokens.itl.percentiles.first?.ms, 2.5, 0.001), "ITL 0.5…5 ms, ten of each: the 50th is 2.5")
        // 500 tokens over 100 records 0.1 s apart: the span plus one gap is 10 s.
        #expect(abs(tokens.outputRate - 50) < 1e-9)
        let pods = e.totalReport().pods
        #expect(Self.near(pods.first { $0.name == "a" }?.tokens?.ttft.percentiles.first?.ms, 30, 0.01))
        #expect(pods.first { $0.name == "b" }?.tokens?.tokensOut == 200)
    }

    @Test func formatsCarryThemOnlyWhenPresent() {
        let lines = (0..<100).map { Self.completion($0) }
        let e = engine(lines)
        var f = ReportFormatter(format: .text, percentiles: [50, 90, 99])
        let text = f.total(e.totalReport(), Extras(), windowsShown: false)
        #expect(
            text.contains("TTFT ms") && text.contains("ITL ms")
                && text.contains("2000 in, 500 out over 100 completions: 50.0 out/s"), "\(text)")
        f = ReportFormatter(format: .json, percentiles: [50, 90, 99])
        let json = f.total(e.totalReport(), Extras(), windowsShown: false)
        #expect(json.contains(#""ttft_ms":{"count":100,"#) && json.contains(#""output_tokens_per_s":50.0"#), "\(json)")
        f = ReportFormatter(format: .csv, percentiles: [50])
        f.tokenColumns = true
        let csv = f.total(e.totalReport(), Extras(), windowsShown: false)
        #expect(csv.contains("ttft_p50_ms") && csv.hasSuffix(",2000,500,50.000\n"), "\(csv)")
        // Plain records: none of it.
        let plain = engine((0..<10).map { line(ts: 1000 + Double($0), latency: 5) })
        let plainText = ReportFormatter(format: .text, percentiles: [50]).total(
            plain.totalReport(), Extras(), windowsShown: false)
        let plainJSON = ReportFormatter(format: .json, percentiles: [50]).total(
            plain.totalReport(), Extras(), windowsShown: false)
        #expect(!plainText.contains("TTFT") && !plainJSON.contains("ttft") && plain.totalReport().tokens == nil)
    }

    @Test func windowsHaveTheirOwn() throws {
        var emitted: [Windows.Window] = []
        let e = engine((0..<100).map { Self.completion($0) }, interval: 5, emitted: &emitted)
        #expect(emitted.count == 2)
        let first = try #require(e.report(emitted[0]).tokens), second = try #require(e.report(emitted[1]).tokens)
        #expect(first.completions == 50 && second.completions == 50)
        #expect(
            Self.near(first.ttft.percentiles.first?.ms, 25, 0.01)
                && Self.near(second.ttft.percentiles.first?.ms, 75, 0.01))
        var f = ReportFormatter(format: .text, percentiles: [50, 90, 99])
        f.tokenColumns = true
        let row = f.windowRow(e.report(emitted[0]))
        #expect(f.windowHeader().contains("ttft50") && row.contains(" 25.0"), "\(row)")
        #expect(e.series.contains { Self.near($0.ttftP50, 25, 0.01) })
    }
}

/// Connect times: each connection's first record carries one; the total reports how
/// many connections were opened and how long connecting took, in every format.
@Suite struct ConnectStatsTests {
    @Test func connectTimesOfKnownValues() throws {
        // 40 records, every fourth a connection's first: connects of 1, 2, …, 10 ms.
        let lines = (0..<40).map { i in
            let record = Record(
                ts: 1000 + Double(i) / 10, seq: i, latencyMs: 5, serviceMs: 4, status: 200, bytes: 10, error: nil,
                pod: "a",
                connectMs: i % 4 == 0 ? Double(i / 4 + 1) : nil)
            return String(decoding: RecordEncoder.line(record).dropLast(), as: UTF8.self)
        }
        let report = engine(lines, percentiles: [50, 90]).totalReport()
        let connect = try #require(report.connect)
        #expect(connect.count == 10 && connect.min == 1 && connect.max == 10)
        #expect(zip(connect.percentiles.map(\.ms), [5.0, 9]).allSatisfy { abs($0 - $1) < 0.01 }, "\(connect)")
        let text = ReportFormatter(format: .text, percentiles: [50, 90]).total(report, Extras(), windowsShown: false)
        #expect(text.contains("10 connections opened") && text.contains("Connect ms"), "\(text)")
        let json = ReportFormatter(format: .json, percentiles: [50, 90]).total(report, Extras(), windowsShown: false)
        #expect(json.contains(#""connect_ms":{"count":10,"#), "\(json)")
        let markdown = ReportFormatter(format: .markdown, percentiles: [50, 90]).total(
            report, Extras(), windowsShown: false)
        #expect(markdown.contains("| connect (10) |"), "\(markdown)")
        // Records without it: none of it.
        let plain = engine((0..<10).map { line(ts: 1000 + Double($0), latency: 5) }).totalReport()
        #expect(plain.connect == nil)
        #expect(
            !ReportFormatter(format: .json, percentiles: [50]).total(plain, Extras(), windowsShown: false).contains(
                "connect_ms"))
    }
}

/// How evenly pods shared the requests, on a known split.
@Suite struct PodBalanceTests {
    @Test func sharesAgainstAnEvenSplit() throws {
        let counts = ["a": 60, "b": 30, "c": 10]
        var lines: [String] = []
        for (pod, n) in counts { for i in 0..<n { lines.append(line(ts: 1000 + Double(i), latency: 5, pod: pod)) } }
        let report = engine(lines).totalReport()
        let b = try #require(report.podBalance)
        // Mean 33.3: 60 is 1.8× even, 10 is 0.3×; sd = sqrt((26.7² + 3.3² + 23.3²) / 3) = 20.5, CV 0.616.
        #expect(abs(b.largest - 1.8) < 1e-9 && abs(b.smallest - 0.3) < 1e-9 && abs(b.cv - 0.6164) < 1e-3, "\(b)")
        let text = ReportFormatter(format: .text, percentiles: [50]).total(report, Extras(), windowsShown: false)
        #expect(text.contains("largest share 1.80× even, smallest 0.30×, CV 0.62 over 3 pods"), "\(text)")
        let json = ReportFormatter(format: .json, percentiles: [50]).total(report, Extras(), windowsShown: false)
        #expect(json.contains(#""pod_balance":{"largest_vs_even":1.8,"smallest_vs_even":0.3,"cv":0.616}"#), "\(json)")
        #expect(
            engine([line(ts: 1, latency: 1, pod: "a")]).totalReport().podBalance == nil,
            "one pod: no balance to speak of")
    }
}
