import Autoscaler
import JSON
import Platform

/// A discrete-time simulation (one-second steps, rates rather than requests) of the
/// load on a Deployment's pods, metrics-server's samples and the HPA controller's syncs,
/// writing what kube-watch would have written of it (infer-records(5), "Scaling lines").
/// Deterministic: the same inputs and seed give the same lines.
public struct Simulator {
    public let config: SimConfig
    /// Offered requests per second at `t` seconds after the start.
    let rate: (Double) -> Double
    /// Unix time of t = 0 (the lines' `ts`), and how long to run.
    public let start: Double
    public let seconds: Int
    /// Where, within each period, the HPA syncs (s after t = 0): unknowable for a real
    /// run, so a flag.
    public var syncPhase = 7.5

    /// The HPA's desired replicas after each sync, for comparisons.
    public private(set) var decisions: [(ts: Double, desired: Int)] = []
    /// Requests offered, served and shed (503), in all.
    public private(set) var offered = 0.0, served = 0.0, shed = 0.0
    /// Pods × seconds (what the run costs), the most pods at once, and each second's
    /// offered rate and estimated p99 (s).
    public private(set) var replicaSeconds = 0.0
    public private(set) var peakReplicas = 0
    public private(set) var rates: [Double] = []
    public private(set) var p99s: [Double] = []

    public init(config: SimConfig, start: Double, seconds: Int, rate: @escaping (Double) -> Double) {
        self.config = config
        self.start = start
        self.seconds = seconds
        self.rate = rate
    }

    final class Pod {
        let name: String
        let created: Double
        let readyAt: Double
        var terminatingAt: Double?
        /// The per-pod CPU total when it began and stopped serving (see RunState).
        var servingFrom: Double?
        var servingUntil: Double?
        var lastScrape: (at: Double, cpuSeconds: Double)?
        var sample: (at: Double, millis: Int)?
        init(name: String, created: Double, readyAt: Double) {
            self.name = name
            self.created = created
            self.readyAt = readyAt
        }
        var serving: Bool { terminatingAt == nil }
    }

    public mutating func run(emit: @escaping (JSONObject) -> Void) {
        var state = RunState(config: config, emit: emit, start: start)
        for _ in 0..<config.initialReplicas { state.addPod(at: -60, initial: true) }
        state.deploymentLine(at: 0)
        for step in 0..<seconds {
            let t = Double(step)
            state.lifecycle(at: t)
            let cpuBefore = state.perPodCPU
            let (o, s, d) = state.traffic(at: t, rate: rate(t + 0.5))
            offered += o
            served += s
            shed += d
            rates.append(o)
            p99s.append(state.p99)
            if config.requestLines, t >= 0 { requestsLine(state: &state, at: t, served: s, shed: d) }
            replicaSeconds += Double(state.pods.count)
            peakReplicas = max(peakReplicas, state.pods.count)
            let scrapePhase = syncPhase - config.metricsLag
            if let at = Self.due(t, phase: scrapePhase, period: config.metricsResolution) {
                // At the scrape's own instant within the second: the load so far, pro rata.
                let perPod = cpuBefore + (state.perPodCPU - cpuBefore) * (at - t)
                state.scrape(at: at, perPodCPU: perPod)
            }
            if Self.due(t, phase: syncPhase, period: config.syncPeriod) != nil {
                let desired = state.sync(at: t)
                decisions.append((start + t, desired))
            }
        }
    }

    /// Whole requests carried over from earlier seconds' fractions, so totals stay exact.
    private var okCarry = 0.0, shedCarry = 0.0

    /// The second's requests as infer-stats reads a prediction (infer-records(5)).
    private mutating func requestsLine(state: inout RunState, at t: Double, served: Double, shed: Double) {
        okCarry += served
        shedCarry += shed
        let ok = Int(okCarry.rounded(.down)), dropped = Int(shedCarry.rounded(.down))
        okCarry -= Double(ok)
        shedCarry -= Double(dropped)
        guard ok + dropped > 0 else { return }
        let o = state.line("requests", at: t)
        o.set("seconds", .real(1))
        o.set("ok", .integer(ok))
        o.set("shed", .integer(dropped))
        for (key, value) in [("p50_ms", state.p50), ("p90_ms", state.p90), ("p99_ms", state.p99)] {
            o.set(key, value.isFinite ? .real((value * 1e6).rounded() / 1e3) : .null)
        }
        state.emit(o)
    }

    /// When a periodic event with this phase falls in [t, t + 1), its time; else nil.
    static func due(_ t: Double, phase: Double, period: Double) -> Double? {
        let k = ((t - phase) / period).rounded(.up)
        let next = phase + k * period
        return next >= t && next < t + 1 ? next : nil
    }
}
