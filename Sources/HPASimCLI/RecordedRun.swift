import JSON
import Kube
import Platform
import Records
import ToolSupport
import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// Reading a recorded run: the offered load of its request records, and the HPA's
/// replica counts over time.
extension HPASimCommand {
    /// Records per second of scheduled time from the first record (other lines skipped).
    static func offeredPerSecond(_ path: String) throws -> (start: Double, counts: [Double]) {
        var times: [Double] = []
        try eachLine(path) { line in
            var decoder = RecordDecoder()
            if decoder.decode(line) == nil { times.append(decoder.value(.ts)) }
        }
        guard let first = times.min() else {
            writeStderr("hpa-sim: \(path): no request records\n")
            throw ExitCode(ExitStatus.usage)
        }
        var counts = [Double](repeating: 0, count: Int(((times.max() ?? first) - first).rounded(.down)) + 1)
        for t in times { counts[Int((t - first).rounded(.down))] += 1 }
        return (first, counts)
    }

    /// (ts, desired_replicas) of each line that has both, in time order; and the distinct
    /// `last_scale_time`s (Unix seconds as kube-watch writes them, or RFC 3339 as the API does).
    static func timeline(_ path: String) throws -> (steps: [(ts: Double, desired: Int)], rescales: [Double]) {
        var out: [(ts: Double, desired: Int)] = []
        var rescales = Set<Double>()
        try eachLine(path) { line in
            guard let o = try? JSONObject(parsing: line), let ts = o["ts"].number,
                case .integer(let d) = o["desired_replicas"]
            else { return }
            out.append((ts, d))
            switch o["last_scale_time"] {
            case .string(let text): if let t = KubeValues.time(text) { rescales.insert(t) }
            case let value: if let t = value.number { rescales.insert(t) }
            }
        }
        guard !out.isEmpty else {
            writeStderr("hpa-sim: \(path): no lines with ts and desired_replicas\n")
            throw ExitCode(ExitStatus.usage)
        }
        return (out.sorted { $0.ts < $1.ts }, rescales.sorted())
    }

    static func eachLine(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            writeStderr("hpa-sim: \(path): \(String(cString: strerror(errno)))\n")
            throw ExitCode(ExitStatus.usage)
        }
        defer { close(fd) }
        let reader = LineReader(fd: fd)
        while true {
            switch reader.next() {
            case .line(let line): try body(line)
            case .end: return
            case .interrupted: continue
            case .failed(let e):
                writeStderr("hpa-sim: \(path): \(String(cString: strerror(e)))\n")
                throw ExitCode(ExitStatus.failure)
            }
        }
    }
}
