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

    static func load(
        _ run: String
    ) throws -> (start: Double, perSecond: [Double], observed: [(ts: Double, desired: Int)], rescales: [Double]) {
        let offered = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + run + "-offered.json")))
                as? [String: Any])
        let start = try #require(offered["start"] as? Double)
        let perSecond = try #require(offered["per_second"] as? [Int]).map(Double.init)
        let timeline = try String(contentsOfFile: dir + run + "-hpa-timeline.jsonl", encoding: .utf8)
        var rescales = Set<Double>()
        let observed = try timeline.split(separator: "\n").map { line -> (ts: Double, desired: Int) in
            let o = try JSONObject(parsing: Array(line.utf8))
            guard case .integer(let d) = o["desired_replicas"], let ts = o["ts"].number else {
                throw CocoaError(.coderReadCorrupt)
            }
            if case .string(let text) = o["last_scale_time"] {
                rescales.insert(try Date(text, strategy: .iso8601).timeIntervalSince1970)
            }
            return (ts, d)
        }
        return (start, perSecond, observed, rescales.sorted())
    }

    /// The run's load from 60 s before its first request to 120 s after its last.
    static func predict(
        _ run: String, config: SimConfig = ReplayTests.cluster, phase: Double = 7.5
    ) throws -> (Agreement, Simulator) {
        let (start, perSecond, observed, _) = try load(run)
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

    /// At the run's own phase — which a recorded run shows in its rescale times, though a
    /// prediction cannot know it — the measures: the replica count agrees within
    /// one period at ≥ 85 % of the periods, and every rescale lands within ±1 period, to
    /// the same size.
    @Test(arguments: ["seed-30qps", "steps-to-overload"])
    func replayAtTheRunsOwnPhase(_ run: String) throws {
        let (start, _, _, rescales) = try Self.load(run)
        #expect(rescales.count >= 3, "\(run): the fixture's rescales")
        let phase = try #require(Agreement.phase(ofRescalesAt: rescales, start: start - 60))
        let (a, _) = try Self.predict(run, phase: phase)
        #expect(a.fraction >= 0.85, "\(run) at phase \(phase): \(a.periodsAgreeing) of \(a.periods)")
        #expect(
            a.rescales >= 3 && a.rescalesMatched == a.rescales,
            "\(run) at phase \(phase): rescales \(a.rescalesMatched) of \(a.rescales)")
    }

    /// The phase read back from rescale times, including across the period's wrap.
    @Test func phaseFromRescaleTimes() throws {
        // Syncs at 1000 + 14.6 + 15k, truncated to the second as lastScaleTime is.
        let times = [1014.0, 1029.0, 1044.0, 1089.0]
        let phase = try #require(Agreement.phase(ofRescalesAt: times, start: 1000))
        #expect(abs(phase - 14.5) < 0.01)
        let wrapped = try #require(Agreement.phase(ofRescalesAt: [1014.0, 1030.0], start: 1000))
        #expect(wrapped > 14.9 || wrapped < 0.1, "14.5 and 0.5 average across the wrap to ~15, not 7.5: \(wrapped)")
        #expect(Agreement.phase(ofRescalesAt: [], start: 0) == nil)
    }

    /// The same inputs and seed give the same lines, byte for byte.
    @Test func deterministic() throws {
        func lines() throws -> [[UInt8]] {
            let (start, perSecond, _, _) = try Self.load("steps-to-overload")
            var out: [[UInt8]] = []
            var sim = Simulator(config: Self.cluster, start: start, seconds: perSecond.count) { t in
                perSecond[min(Int(t), perSecond.count - 1)]
            }
            sim.run { out.append($0.serialized(realPrecision: 16)) }
            return out
        }
        let a = try lines(), b = try lines()
        #expect(a.count > 100 && a == b)
    }
}
