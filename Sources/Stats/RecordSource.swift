import JSON
import Records

/// One input of records: a line reader and its decoder, with the next good record
/// decoded ahead so several sources can be merged in time order.
public final class RecordSource {
    public let name: String
    public let reader: LineReader
    public var decoder = RecordDecoder()
    /// True while `decoder` (or `scaling`) holds a line not yet taken.
    public private(set) var hasRecord = false
    /// The line held, when it is a scaling line (kube-watch's) rather than a request record;
    /// `holdsScaling` says so without touching the (large) optional on every record.
    public private(set) var scaling: ScalingLine?
    public private(set) var holdsScaling = false
    private var scalingTs = 0.0
    public private(set) var finished = false
    public private(set) var readError: Int32?

    public init(name: String, fd: Int32, wakeFD: Int32? = nil) {
        self.name = name
        reader = LineReader(fd: fd, wakeFD: wakeFD)
    }

    public enum Advance { case record, finished, interrupted }

    /// The time of the line held, for merging sources.
    public var ts: Double { holdsScaling ? scalingTs : decoder.value(.ts) }

    /// Adds the line held to `engine`; returns the windows it completed.
    public func addRecord(to engine: inout StatsEngine) -> [Windows.Window] {
        if holdsScaling { return engine.addScaling(scaling!) }
        return engine.add(&decoder)
    }

    /// Reads up to the next good record; malformed lines go to `engine`.
    public func advance(into engine: inout StatsEngine) -> Advance {
        hasRecord = false
        if holdsScaling {
            scaling = nil
            holdsScaling = false
        }
        while true {
            switch reader.next() {
            case .line(var line):
                // A UTF-8 byte-order mark at the very start of an input (editors and Windows
                // tools write one) is not part of the record; RFC 8259 §8.1 lets a parser skip it.
                if reader.lineNumber == 1, RecordSource.startsWithBOM(line) {
                    line = UnsafeRawBufferPointer(rebasing: line[3...])
                }
                if RecordSource.isBlank(line) { continue }
                if var problem = decoder.decode(line) {
                    // Not a request record: a line with a `type` is kube-watch's (merged in by time).
                    if problem == .typedLine {
                        if let typed = decoder.typedObject.flatMap(ScalingLine.init(object:)) ?? ScalingLine(flat: line)
                            ?? (try? JSONObject(parsing: line)).flatMap(ScalingLine.init(object:))
                        {
                            scaling = typed
                            scalingTs = typed.ts
                            holdsScaling = true
                            hasRecord = true
                            return .record
                        }
                        problem = RecordDecoder.Malformed("a line with a \"type\" needs a number \"ts\"")
                    }
                    let reason =
                        reader.lastLineUnterminated
                        ? "truncated last line (\(problem.description))" : problem.description
                    engine.addMalformed(source: name, line: reader.lineNumber, reason: reason)
                    continue
                }
                hasRecord = true
                return .record
            case .end:
                finished = true
                return .finished
            case .interrupted:
                return .interrupted
            case .failed(let errno):
                readError = errno
                finished = true
                return .finished
            }
        }
    }

    static func startsWithBOM(_ line: UnsafeRawBufferPointer) -> Bool {
        line.count >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF
    }

    static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }
}
