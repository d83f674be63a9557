import ArgumentParser
import Records
import Stats
import ToolSupport
import Platform

#if canImport(Glibc)
import Glibc
#endif

extension OutputFormat: ExpressibleByArgument {}

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
    @Option(help: "Report format: text, json, csv or markdown.") var format: OutputFormat = .text
    @Option(
        help: ArgumentHelp(
            "Print one row per window of this length (e.g. 10s) as it completes, then the total.", valueName: "duration"
        )) var interval: DurationOption?
    @Option(
        help: ArgumentHelp(
            "How long after a window's end to wait for late records before printing it.", valueName: "duration"))
    var late = DurationOption(argument: "2s")!
    @Option(help: ArgumentHelp("Latency percentiles to report, comma-separated.", valueName: "list")) var percentiles =
        NumberListOption(argument: "50,90,95,99,99.9")!
    @Flag(help: "Add a latency histogram (text bars; a list in json).") var hist = false
    @Option(
        help: ArgumentHelp(
            "Write an SVG chart over time to this file (windows of --interval, else 10s).", valueName: "file")) var svg:
        String?
    @Flag(help: "Exit 1 when any line is malformed.") var strict = false

    func validate() throws {
        guard percentiles.values.allSatisfy({ $0 > 0 && $0 <= 100 }) else {
            throw ValidationError(
                "--percentiles \(percentiles.text): expected numbers above 0, at most 100, e.g. 50,99,99.9")
        }
        if let interval, interval.seconds <= 0 {
            throw ValidationError("--interval \(interval.text): expected a duration above 0, such as 10s")
        }
    }

    func run() async throws {
        LineWriter.ignoreSIGPIPE()
        let drain = Self.drainAfterInterrupt
        let signals = await ShutdownSignals.trap { signals, _ in
            // Wakes a read blocked on a silent producer once the drain time is up.
            if signals.count == 1 { signals.wakeEvery(afterFirstSignal: drain) }
        }
        let sources = try openSources(wakeFD: signals.wakeFD)
        let chartWindow = interval?.seconds ?? (svg != nil ? 10 : nil)
        let formatter = ReportFormatter(format: format, percentiles: percentiles.values)
        let engine = StatsEngine(
            percentiles: formatter.percentiles, interval: chartWindow, lateness: late.seconds, keepSeries: svg != nil)
        let pass = StatsPass(engine: engine, formatter: formatter, showWindows: interval != nil, signals: signals)
        guard pass.merge(sources) else { return try Self.checkWritten(pass.out) }
        pass.finish(sources, histogram: hist)
        try Self.checkWritten(pass.out)
        if let svg {
            let engine = pass.engine
            let chart = SVGChart(
                title: Self.chartTitle(engine.totalReport()), points: engine.series,
                podNames: engine.pods.names, errorNames: engine.errors.names,
                scaling: engine.series.map { engine.scaling(at: $0.end) })
            if let failure = SmallFile.write(chart.render(), to: svg) {
                writeStderr("infer-stats: \(svg): cannot write: \(String(cString: strerror(failure)))\n")
                throw ExitCode(ExitStatus.failure)
            }
        }
        if let status = signals.exitStatus { throw ExitCode(status) }
        if strict && pass.engine.malformed > 0 { throw ExitCode(ExitStatus.failure) }
    }

    /// After the first SIGINT or SIGTERM, go on reading what the producer flushes
    /// (infer-load writes its last records within its --grace) for up to this long;
    /// a second signal stops at once.
    static let drainAfterInterrupt = 6.0

    func openSources(wakeFD: Int32) throws -> [RecordSource] {
        try (inputs.isEmpty ? ["-"] : inputs).map { input in
            if input == "-" { return RecordSource(name: "<stdin>", fd: 0, wakeFD: wakeFD) }
            let fd = open(input, O_RDONLY)
            guard fd >= 0 else {
                writeStderr("infer-stats: \(input): \(String(cString: strerror(errno)))\n")
                throw ExitCode(ExitStatus.usage)
            }
            return RecordSource(name: input, fd: fd, wakeFD: wakeFD)
        }
    }

    /// A report that could not be written (full disk, closed descriptor) is a failure;
    /// a reader that went away (EPIPE) is not.
    static func checkWritten(_ out: LineWriter) throws {
        guard let failure = out.failure else { return }
        writeStderr("infer-stats: stdout: cannot write: \(BackgroundWriter.describe(failure))\n")
        throw ExitCode(ExitStatus.failure)
    }

    static func chartTitle(_ r: Report) -> String {
        var title =
            "\(r.requests) requests, \(Number.fixed(r.rate, 1)) req/s, \(Number.fixed(r.successRatio * 100, 2))% ok"
        if let tail = r.latency.percentiles.first(where: { $0.p == 99 }) ?? r.latency.percentiles.last {
            title += ", \(Report.label(tail.p)) \(Number.fixed(tail.ms, 1)) ms"
        }
        return title
    }
}

/// The `infer-stats` command line, for its own executable and for the multi-call `infer-sim`.
public enum InferStatsMain {
    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(InferStats.self, arguments: arguments)
    }
}
