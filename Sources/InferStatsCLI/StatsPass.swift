#if canImport(Glibc)
import Glibc
#endif

import Platform
import Records
import Stats
import ToolSupport

/// One pass of infer-stats over its inputs: merges the sources in time order into
/// the engine, prints windows as they complete and bad lines as they are met, and
/// stops early on a signal (after the drain time) or a closed stdout.
final class StatsPass {
    var engine: StatsEngine
    var formatter: ReportFormatter
    let out = LineWriter(fd: 1)
    let showWindows: Bool
    let signals: ShutdownSignals
    private var headerShown = false
    private var reportedSamples = 0

    init(engine: StatsEngine, formatter: ReportFormatter, showWindows: Bool, signals: ShutdownSignals) {
        self.engine = engine
        self.formatter = formatter
        self.showWindows = showWindows
        self.signals = signals
    }

    /// Reads every source to its end (or until stopped); false when stdout closed.
    func merge(_ sources: [RecordSource]) -> Bool {
        var live = sources
        for source in live { _ = advance(source) }
        live.removeAll { $0.finished && !$0.hasRecord }
        while !live.isEmpty {
            if shouldStop() { break }
            // The source whose line is earliest, and the time another source's line comes first.
            var best = 0
            var limit = Double.infinity
            if live.count > 1 {
                for i in 1..<live.count where live[i].ts < live[best].ts { best = i }
                for i in live.indices where i != best { limit = min(limit, live[i].ts) }
            }
            switch drain(live[best], until: limit) {
            case .finished: live.remove(at: best)
            case .outputClosed: return false
            case .interrupted, .overtaken: break
            }
        }
        return true
    }

    enum DrainEnd { case finished, outputClosed, interrupted, overtaken }

    /// Takes lines from `source` while they come no later than `limit` (so with a
    /// second input alive, the sources are compared once per run of lines, not per line).
    private func drain(_ source: RecordSource, until limit: Double) -> DrainEnd {
        while true {
            let completed = source.addRecord(to: &engine)
            if !completed.isEmpty { emit(completed) }
            if case .interrupted = advance(source) { return .interrupted }
            if reportedSamples < engine.malformedSamples.count { reportSamples() }
            if !out.isOpen { return .outputClosed }
            if source.finished && !source.hasRecord { return .finished }
            if source.ts > limit { return .overtaken }
            if signals.count > 0 { return .interrupted }
        }
    }

    /// Prints the last windows and the total.
    func finish(_ sources: [RecordSource], histogram: Bool) {
        reportSamples()
        for source in sources {
            if let e = source.readError {
                writeStderr("infer-stats: \(source.name): \(String(cString: strerror(e)))\n")
            }
        }
        emit(engine.finish())
        if engine.malformed > reportedSamples {
            writeStderr("infer-stats: \(engine.malformed) malformed lines skipped in all\n")
        }
        let extras = Extras(
            skipped: engine.malformed, late: engine.lateRecords,
            histogram: histogram ? engine.total.latency.buckets(20) : nil)
        // Without windows the CSV header comes with the total, and can carry the tokens.
        if !headerShown { formatter.tokenColumns = engine.total.tokens != nil }
        out.append(formatter.total(engine.totalReport(), extras, windowsShown: headerShown).utf8)
        if let timeline = engine.timeline() { out.append(formatter.timeline(timeline).utf8) }
        out.flush()
    }

    private func advance(_ source: RecordSource) -> RecordSource.Advance {
        while true {
            let result = source.advance(into: &engine)
            guard case .interrupted = result else { return result }
            if shouldStop() { return .interrupted }
        }
    }

    /// After a second signal at once; after one, once the drain time since it is up
    /// (measured from the signal itself, as the wake-ups are).
    private func shouldStop() -> Bool {
        let count = signals.count
        guard count > 0 else { return false }
        return count > 1 || (signals.secondsSinceFirst ?? 0) >= InferStats.drainAfterInterrupt
    }

    private func emit(_ windows: [Windows.Window]) {
        guard showWindows, !windows.isEmpty else { return }
        if !headerShown {
            // Decided with the header: the input had kube-watch's lines before the first row.
            formatter.scalingColumns = engine.scalingTally.seen
            formatter.tokenColumns = engine.total.tokens != nil
            out.append(formatter.windowHeader().utf8)
            headerShown = true
        }
        let full = formatter.format == .json || formatter.format == .csv
        // Text rows show three latency percentiles: compute only those.
        let shown = formatter.format == .text ? formatter.rowPercentiles : formatter.percentiles
        for w in windows {
            if w.isGap {
                out.append(formatter.gapRow(start: w.start, end: w.end).utf8)
                continue
            }
            out.append(formatter.windowRow(engine.report(w, percentiles: shown, servicePercentiles: full)).utf8)
        }
        out.flush()  // a window is printed as soon as it is complete
    }

    private func reportSamples() {
        while reportedSamples < engine.malformedSamples.count {
            let s = engine.malformedSamples[reportedSamples]
            writeStderr("infer-stats: \(s.source):\(s.line): \(s.reason)\n")
            reportedSamples += 1
        }
    }
}
