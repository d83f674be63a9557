#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Autoscaler
import HPASim
import JSON
import Platform

/// `--sweep NAME=FROM:TO:STEP`: one setting over a grid.
struct SweepOption: ExpressibleByArgument, Sendable {
    enum Setting: String, CaseIterable, Sendable { case target, stabilization, max, maxQueue = "max-queue" }
    let setting: Setting
    let values: [Double]

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let setting = Setting(rawValue: String(parts[0])) else { return nil }
        let range = parts[1].split(separator: ":").compactMap { Double($0) }
        guard range.count == 3, range[2] > 0, range[1] >= range[0], (range[1] - range[0]) / range[2] <= 1000 else {
            return nil
        }
        self.setting = setting
        values = Array(stride(from: range[0], through: range[1] + 1e-9, by: range[2]))
    }

    /// `config` with this setting at `value`.
    func apply(_ value: Double, to config: SimConfig) -> SimConfig {
        var c = config
        switch setting {
        case .target: c.hpa.targetUtilization = Int(value)
        case .stabilization:
            c.hpa.scaleDown = ScalingRules(
                stabilizationSeconds: value, policies: (c.hpa.scaleDown ?? .defaultScaleDown).policies)
        case .max: c.hpa.maxReplicas = Int(value)
        case .maxQueue: c.maxQueue = Int(value)
        }
        return c
    }
}

/// One row of a sweep: what a setting costs and what it buys.
struct SweepRow {
    let value: Double
    let replicaSeconds: Double
    let sloMissSeconds: Int
    let shed: Double
    let peakReplicas: Int
    /// From the load's largest step up to p99 back under the SLO for 15 s (nil: never).
    let recoverySeconds: Int?

    init(value: Double, sim: Simulator, lead: Int, sloSeconds: Double) {
        self.value = value
        replicaSeconds = sim.replicaSeconds
        shed = sim.shed
        peakReplicas = sim.peakReplicas
        let p99s = Array(sim.p99s.dropFirst(lead)), rates = Array(sim.rates.dropFirst(lead))
        sloMissSeconds = p99s.filter { $0 > sloSeconds }.count
        var step = 0, jump = 0.0
        for i in rates.indices.dropFirst() where rates[i] - rates[i - 1] > jump {
            jump = rates[i] - rates[i - 1]
            step = i
        }
        let calm = p99s.indices.first { j in
            j >= step && p99s[j...min(j + 14, p99s.count - 1)].allSatisfy { $0 <= sloSeconds }
        }
        recoverySeconds = calm.map { $0 - step }
    }
}

extension HPASimCommand {
    /// The sweep's rows in `format`, and the errno of an SVG that could not be written.
    func sweep(_ option: SweepOption, base: SimConfig, makeSim: (SimConfig) -> Simulator) -> (String, Int32?) {
        var quiet = base
        quiet.podMetricsLines = false  // a sweep reads the totals, not the lines
        quiet.requestLines = false
        let rows = option.values.map { value -> SweepRow in
            var sim = makeSim(option.apply(value, to: quiet))
            sim.run { _ in }
            return SweepRow(value: value, sim: sim, lead: 60, sloSeconds: sloMs / 1000)
        }
        let name = option.setting.rawValue
        let svgError = svg.flatMap {
            SmallFile.write(SweepChart(setting: name, rows: rows, sloMs: sloMs).render(), to: $0)
        }
        return (table(rows, name), svgError)
    }

    func table(_ rows: [SweepRow], _ name: String) -> String {
        let header = [name, "replica_seconds", "slo_miss_seconds", "shed", "peak_replicas", "recovery_s"]
        func cells(_ r: SweepRow) -> [String] {
            [
                Number.fixed(r.value, r.value == r.value.rounded() ? 0 : 2), Number.fixed(r.replicaSeconds, 0),
                String(r.sloMissSeconds),
                Number.fixed(r.shed, 0), String(r.peakReplicas), r.recoverySeconds.map(String.init) ?? "never",
            ]
        }
        switch format {
        case "json":
            return rows.map { r in
                let o = JSONObject()
                o.set("type", .string("sweep"))
                o.set(name, .real(r.value))
                o.set("replica_seconds", .real(r.replicaSeconds.rounded()))
                o.set("slo_miss_seconds", .integer(r.sloMissSeconds))
                o.set("shed", .real(r.shed.rounded()))
                o.set("peak_replicas", .integer(r.peakReplicas))
                o.set("recovery_s", r.recoverySeconds.map { .integer($0) } ?? .null)
                return String(decoding: o.serialized(realPrecision: 15), as: UTF8.self) + "\n"
            }.joined()
        case "csv":
            return header.joined(separator: ",") + "\n" + rows.map { cells($0).joined(separator: ",") + "\n" }.joined()
        case "markdown":
            return "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---:" }.joined(separator: "|")
                + "|\n"
                + rows.map { "| " + cells($0).joined(separator: " | ") + " |\n" }.joined()
        default:
            let table = [header] + rows.map(cells)
            let width = header.indices.map { i in table.map { $0[i].count }.max()! + 2 }
            func row(_ c: [String]) -> String {
                zip(c, width).map { String(repeating: " ", count: Swift.max(0, $1 - $0.count)) + $0 }.joined() + "\n"
            }
            return row(header) + rows.map { row(cells($0)) }.joined()
                + "(SLO: p99 ≤ \(Number.fixed(sloMs, 0)) ms, estimated per second from each pod's queue)\n"
        }
    }
}
