import ArgumentParser
import Records
import Stats
import ToolSupport
import Platform

#if canImport(Glibc)
import Glibc
#endif

/// Set by the SIGINT handler; read between lines.
nonisolated(unsafe) var interrupts: sig_atomic_t = 0

/// infer-stats: a streaming report over infer-load's records.
struct InferStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer-stats",
        abstract: "Report on infer-load records: percentiles, rates, errors, pods, windows, charts.",
        discussion: """
            Reads JSON records (one per line, see infer-load(1)) from standard input or the files \
            given ('-' is standard input); several inputs are merged in time order. Memory stays \
            flat however long the input: percentiles come from HdrHistograms (3 significant digits).
            """,
        version: ToolVersion.current
    )

    @Argument(help: "Record files; '-' or none reads standard input.") var inputs: [String] = []
    @Option(help: "Report format: text, json, csv or markdown.") var format = "text"
    @Option(help: ArgumentHelp("Print one row per window of this length (e.g. 10s) as it completes, then the total.", valueName: "duration")) var interval: String?
    @Option(help: ArgumentHelp("How long after a window's end to wait for late records before printing it.", valueName: "duration")) var late = "2s"
    @Option(help: ArgumentHelp("Latency percentiles to report, comma-separated.", valueName: "list")) var percentiles = "50,90,95,99,99.9"
    @Flag(help: "Add a latency histogram (text bars; a list in json).") var hist = false
    @Option(help: ArgumentHelp("Write an SVG chart over time to this file (windows of --interval, else 10s).", valueName: "file")) var svg: String?
    @Flag(help: "Exit 1 when any line is malformed.") var strict = false

    func run() async throws {
        guard let outputFormat = OutputFormat(rawValue: format) else { usage("--format \(format): expected text, json, csv or markdown") }
        let levels = percentiles.split(separator: ",").map { Double(String($0.filter { $0 != " " })) }
        guard !levels.isEmpty, levels.allSatisfy({ $0 != nil && $0! > 0 && $0! <= 100 }) else {
            usage("--percentiles \(percentiles): expected numbers above 0, at most 100, e.g. 50,99,99.9")
        }
        var windowSeconds: Double?
        if let interval {
            guard let s = DurationText.seconds(interval), s > 0 else { usage("--interval \(interval): expected a duration such as 10s, 500ms or 1m") }
            windowSeconds = s
        }
        guard let lateness = DurationText.seconds(late) else { usage("--late \(late): expected a duration such as 2s") }
        let chartWindow = windowSeconds ?? (svg != nil ? 10 : nil)

        var sources: [RecordSource] = []
        for input in inputs.isEmpty ? ["-"] : inputs {
            if input == "-" {
                sources.append(RecordSource(name: "<stdin>", fd: 0))
            } else {
                let fd = open(input, O_RDONLY)
                guard fd >= 0 else { usage("\(input): \(String(cString: strerror(errno)))") }
                sources.append(RecordSource(name: input, fd: fd))
            }
        }
        LineWriter.ignoreSIGPIPE()
        Self.trapSIGINT()

        let out = LineWriter(fd: 1)
        let formatter = ReportFormatter(format: outputFormat, percentiles: levels.map { $0! })
        var engine = StatsEngine(percentiles: formatter.percentiles, interval: chartWindow, lateness: lateness, keepSeries: svg != nil)
        let showWindows = windowSeconds != nil
        var headerShown = false
        var reportedSamples = 0
        var drainDeadline: Double?

        func emit(_ windows: [Windows.Window]) {
            guard showWindows, !windows.isEmpty else { return }
            if !headerShown {
                out.append(formatter.windowHeader().utf8)
                headerShown = true
            }
            let full = outputFormat == .json || outputFormat == .csv
            // Text rows show three latency percentiles: compute only those.
            let shown = outputFormat == .text ? formatter.rowPercentiles : formatter.percentiles
            for w in windows {
                if w.isGap {
                    out.append(formatter.gapRow(start: w.start, end: w.end).utf8)
                    continue
                }
                out.append(formatter.windowRow(engine.report(w, percentiles: shown, servicePercentiles: full)).utf8)
            }
            out.flush()  // a window is printed as soon as it is complete
        }
        func reportSamples() {
            while reportedSamples < engine.malformedSamples.count {
                let s = engine.malformedSamples[reportedSamples]
                writeStderr("infer-stats: \(s.source):\(s.line): \(s.reason)\n")
                reportedSamples += 1
            }
        }

        // Merge: always take the ready source whose record is earliest.
        var live = sources
        for source in live { _ = Self.advance(source, &engine, &drainDeadline) }
        live.removeAll { $0.finished && !$0.hasRecord }
        while !live.isEmpty {
            if Self.shouldStop(&drainDeadline) { break }
            var best = 0
            if live.count > 1 {
                for i in 1..<live.count where live[i].ts < live[best].ts { best = i }
            }
            let source = live[best]
            emit(source.addRecord(to: &engine))
            if case .interrupted = Self.advance(source, &engine, &drainDeadline) { continue }
            if source.finished && !source.hasRecord { live.remove(at: best) }
            reportSamples()
            if !out.isOpen { return try Self.checkWritten(out) }
        }
        reportSamples()
        for source in sources {
            if let e = source.readError { writeStderr("infer-stats: \(source.name): \(String(cString: strerror(e)))\n") }
        }
        emit(engine.finish())
        if engine.malformed > reportedSamples {
            writeStderr("infer-stats: \(engine.malformed) malformed lines skipped in all\n")
        }
        let extras = Extras(skipped: engine.malformed, late: engine.lateRecords,
                            histogram: hist ? engine.total.latency.buckets(20) : nil)
        out.append(formatter.total(engine.totalReport(), extras, windowsShown: headerShown).utf8)
        out.flush()
        try Self.checkWritten(out)
        if let svg {
            let chart = SVGChart(title: Self.chartTitle(engine.totalReport()), points: engine.series,
                                 podNames: engine.pods.names, errorNames: engine.errors.names)
            guard Self.write(chart.render(), to: svg) else {
                writeStderr("infer-stats: \(svg): cannot write: \(String(cString: strerror(errno)))\n")
                throw ExitCode(ExitStatus.failure)
            }
        }
        if interrupts > 0 { throw ExitCode(ExitStatus.interrupted) }
        if strict && engine.malformed > 0 { throw ExitCode(ExitStatus.failure) }
    }

    /// After the first SIGINT, go on reading what the producer flushes (infer-load
    /// writes its last records within its --grace) for up to this long; a second
    /// SIGINT stops at once.
    static let drainAfterInterrupt = 6.0

    static func advance(_ source: RecordSource, _ engine: inout StatsEngine, _ drainDeadline: inout Double?) -> RecordSource.Advance {
        while true {
            let result = source.advance(into: &engine)
            guard case .interrupted = result else { return result }
            if shouldStop(&drainDeadline) { return .interrupted }
        }
    }

    static func shouldStop(_ drainDeadline: inout Double?) -> Bool {
        guard interrupts > 0 else { return false }
        if drainDeadline == nil { drainDeadline = now() + drainAfterInterrupt }
        return interrupts > 1 || now() > drainDeadline!
    }

    static func now() -> Double { Double(CPUClock.monotonicNanos()) / 1e9 }

    static func trapSIGINT() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            interrupts += 1
            // Wakes a read blocked on a silent producer once the drain time is up.
            if interrupts == 1 { alarm(UInt32(InferStats.drainAfterInterrupt) + 1) }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: a blocked read returns EINTR
        sigaction(SIGINT, &action, nil)
        var wake = sigaction()
        wake.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&wake.sa_mask)
        wake.sa_flags = 0
        sigaction(SIGALRM, &wake, nil)
    }

    /// A report that could not be written (full disk, closed descriptor) is a failure;
    /// a reader that went away (EPIPE) is not.
    static func checkWritten(_ out: LineWriter) throws {
        guard let failure = out.failure else { return }
        writeStderr("infer-stats: stdout: cannot write: \(BackgroundWriter.describe(failure))\n")
        throw ExitCode(ExitStatus.failure)
    }

    static func chartTitle(_ r: Report) -> String {
        var title = "\(r.requests) requests, \(Number.fixed(r.rate, 1)) req/s, \(Number.fixed(r.successRatio * 100, 2))% ok"
        if let tail = r.latency.percentiles.first(where: { $0.p == 99 }) ?? r.latency.percentiles.last {
            title += ", \(Report.label(tail.p)) \(Number.fixed(tail.ms, 1)) ms"
        }
        return title
    }

    static func write(_ text: String, to path: String) -> Bool {
        guard let file = fopen(path, "w") else { return false }
        let ok = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) == $0.count - 1 }
        return fclose(file) == 0 && ok
    }

    func usage(_ message: String) -> Never {
        writeStderr("infer-stats: \(message)\n")
        Glibc.exit(ExitStatus.usage)
    }
}

/// The `infer-stats` command line, for its own executable and for the multi-call `infer-sim`.
public enum InferStatsMain {
    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(InferStats.self, arguments: arguments)
    }
}
