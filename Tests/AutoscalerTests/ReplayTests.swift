import Foundation
import HPASim
import JSON
import Testing

/// hpa-sim replaying the offered load of this project's recorded runs on a real cluster
/// (../shared/fixtures/real-run, derived in Fixtures/: see its README) with one set of
/// defaults, against the HPA's replica counts the cluster recorded.
@Suite struct ReplayTests {
    static let dir: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/") + "/Fixtures/"
    }()

    static func load(_ run: String) throws -> (start: Double, perSecond: [Double], observed: [(ts: Double, desired: Int)]) {
        let offered = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + run + "-offered.json"))) as? [String: Any])
        let start = try #require(offered["start"] as? Double)
        let perSecond = try #require(offered["per_second"] as? [Int]).map(Double.init)
        let timeline = try String(contentsOfFile: dir + run + "-hpa-timeline.jsonl", encoding: .utf8)
        let observed = try timeline.split(separator: "\n").map { line -> (ts: Double, desired: Int) in
            let o = try JSONObject(parsing: Array(line.utf8))
            guard case .integer(let d) = o["desired_replicas"], let ts = o["ts"].number else { throw CocoaError(.coderReadCorrupt) }
            return (ts, d)
        }
        return (start, perSecond, observed)
    }

    /// The run's load from 60 s before its first request to 120 s after its last.
    static func predict(_ run: String, config: SimConfig = ReplayTests.cluster, phase: Double = 7.5) throws -> (Agreement, Simulator) {
        let (start, perSecond, observed) = try load(run)
        let lead = 60
        var sim = Simulator(config: config, start: start - Double(lead), seconds: perSecond.count + lead + 120) { t in
            let i = Int(t) - lead
            return i >= 0 && i < perSecond.count ? perSecond[i] : 0
        }
        sim.syncPhase = phase
        sim.run { _ in }
        return (Agreement(predicted: sim.decisions, observed: observed), sim)
    }

    /// The recording cluster: one node of 2 cores, ~0.4 of them for the control plane.
    static let cluster: SimConfig = {
        var c = SimConfig()
        c.nodeCPU = 1.6
        return c
    }()

    /// The controller's phase relative to the load is unknowable, and near a threshold
    /// it decides a rescale; so the agreement is taken at ten phases across the period
    /// and averaged. (A naive model — replicas from the last window's rate and the
    /// target, no pipeline — scores 63–81 % here, per the issue.)
    @Test(arguments: ["seed-30qps", "steps-to-overload"])
    func replayAgreesWithTheRecordedRun(_ run: String) throws {
        var fractions: [Double] = []
        for phase in stride(from: 0.0, to: 15, by: 1.5) {
            fractions.append(try Self.predict(run, phase: phase).0.fraction)
        }
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        #expect(mean >= 0.85, "\(run): mean agreement \(mean) over phases \(fractions.map { Int($0 * 100) })")
        #expect(fractions.min()! >= 0.6, "\(run): no phase far off: \(fractions.map { Int($0 * 100) })")
    }

    /// The same inputs and seed give the same lines, byte for byte.
    @Test func deterministic() throws {
        func lines() throws -> [[UInt8]] {
            let (start, perSecond, _) = try Self.load("steps-to-overload")
            var out: [[UInt8]] = []
            var sim = Simulator(config: Self.cluster, start: start, seconds: perSecond.count) { t in perSecond[min(Int(t), perSecond.count - 1)] }
            sim.run { out.append($0.serialized(realPrecision: 16)) }
            return out
        }
        let a = try lines(), b = try lines()
        #expect(a.count > 100 && a == b)
    }
}
