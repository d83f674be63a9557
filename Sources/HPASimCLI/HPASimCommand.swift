import ArgumentParser
import Autoscaler
import HPASim
import JSON
import LoadGen
import Platform
import Records
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// hpa-sim: what the HPA would do with a load, as kube-watch's lines, in a second.
struct HPASimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hpa-sim",
        abstract: "Predict what a HorizontalPodAutoscaler does with a load: kube-watch's lines, simulated.",
        discussion: """
            Simulates, second by second, the load on a Deployment's pods (their CPU request and \
            limit, queue and shed), metrics-server's 15 s windows and the HPA controller's syncs \
            with its rules (tolerance, unready and missing pods, stabilization, rate limits), and \
            writes what kube-watch would have written (infer-records(5), "Scaling lines"). The load \
            is a rate profile, as infer-load's, or --replay of a recorded run's records. With \
            --compare, prints how well the prediction agrees with a recorded run's replica counts.
            """,
        version: ToolVersion.current
    )

    @Option(help: ArgumentHelp("Offered rate in requests per second.", valueName: "rate")) var qps: Double = 30
    @Option(help: ArgumentHelp("Length of the load.", valueName: "duration")) var seconds = DurationOption(
        argument: "180s")!
    @Option(
        name: .customLong("ramp-to"),
        help: ArgumentHelp("Ramp linearly from --qps to this rate over --seconds.", valueName: "rate")) var rampTo:
        Double?
    @Option(
        help: ArgumentHelp(
            "Rate steps QPS:DURATION,... as infer-load's (replaces --qps and --seconds).", valueName: "steps"))
    var steps: String?
    @Option(
        help: ArgumentHelp(
            "Arrivals: uniform (the rate exactly) or poisson (each second's count drawn with --seed).",
            valueName: "kind")) var arrival: Arrival = .uniform
    @Option(help: ArgumentHelp("Replay the offered load of these request records instead.", valueName: "file"))
    var replay: String?
    @Option(help: ArgumentHelp("Simulate this long after the load ends, for the scale-down.", valueName: "duration"))
    var tail = DurationOption(argument: "120s")!
    @Option(
        help: ArgumentHelp(
            "Rendered manifests (kubectl kustomize …; '-' is standard input): the HPA, the container's CPU, the ConfigMap's settings. Flags given win.",
            valueName: "file")) var manifests: String?
    @Option(
        name: .customLong("work-ms"), help: ArgumentHelp("CPU ms per token (INFER_WORK_MS; else 20).", valueName: "ms"))
    var workMs: Double?
    @Option(help: ArgumentHelp("Tokens per request (INFER_TOKENS; else 1).", valueName: "n")) var tokens: Double?
    @Option(help: ArgumentHelp("Lognormal sigma of the per-request cost (INFER_JITTER; else 0.2).", valueName: "sigma"))
    var jitter: Double?
    @Option(
        name: .customLong("cpu-request"),
        help: ArgumentHelp("Per pod CPU request, cores (else 0.2).", valueName: "cores")) var cpuRequest: Double?
    @Option(
        name: .customLong("cpu-limit"), help: ArgumentHelp("Per pod CPU limit, cores (else 0.5).", valueName: "cores"))
    var cpuLimit: Double?
    @Option(
        help: ArgumentHelp(
            "Compute threads per pod (INFER_WORKERS; else, or 0, the CPU limit rounded up, as infer-serve does).",
            valueName: "n")) var workers: Int?
    @Option(
        name: .customLong("max-queue"),
        help: ArgumentHelp("Requests a pod queues before 503 (INFER_MAX_QUEUE; else 16).", valueName: "n"))
    var maxQueue: Int?
    @Option(
        name: .customLong("node-cpu"),
        help: ArgumentHelp("Cores all pods share (a node's); default unlimited.", valueName: "cores")) var nodeCPU:
        Double?
    @Option(help: ArgumentHelp("HPA minReplicas (else 1).", valueName: "n")) var min: Int?
    @Option(help: ArgumentHelp("HPA maxReplicas (else 10).", valueName: "n")) var max: Int?
    @Option(help: ArgumentHelp("HPA CPU target, % of request (else 60).", valueName: "pct")) var target: Int?
    @Option(
        name: .customLong("scale-down-window"),
        help: ArgumentHelp("Scale-down stabilization window (else the overlay's 30s).", valueName: "duration"))
    var scaleDownWindow: DurationOption?
    @Option(
        name: .customLong("sync-period"),
        help: ArgumentHelp(
            "The HPA controller's sync period (--horizontal-pod-autoscaler-sync-period).", valueName: "duration"))
    var syncPeriod = DurationOption(argument: "15s")!
    @Option(
        name: .customLong("metrics-resolution"),
        help: ArgumentHelp(
            "metrics-server's scrape interval and CPU window (--metric-resolution).", valueName: "duration"))
    var metricsResolution = DurationOption(argument: "15s")!
    @Option(
        name: .customLong("metrics-lag"),
        help: ArgumentHelp("How old the newest CPU sample is when the HPA syncs.", valueName: "duration"))
    var metricsLag = DurationOption(argument: "6s")!
    @Option(
        name: .customLong("ready-after"),
        help: ArgumentHelp(
            "A new pod's time from created to Ready, drawn uniformly from MIN:MAX with --seed (it includes the readiness probe's period).",
            valueName: "min:max")) var readyAfter = DurationRangeOption(argument: "1s:3s")!
    var syncPhase: Double { syncPhaseOption?.seconds ?? syncPeriod.seconds / 2 }
    @Option(
        name: .customLong("sync-phase"),
        help: ArgumentHelp(
            "How far into each sync period the HPA syncs: 7.5 (seconds), 7.5s, 500ms"
                + " (default half the period).", valueName: "duration"))
    var syncPhaseOption: DurationOption?
    @Option(help: ArgumentHelp("Seed for the pods' start-up times.", valueName: "n")) var seed: UInt64 = 1
    @Option(
        help: ArgumentHelp(
            "Unix time the load starts at, for the lines' ts (default 2026-01-01T00:00:00Z; --replay: the records').",
            valueName: "seconds")) var start: Double = 1_767_225_600
    @Flag(
        name: .customLong("pod-metrics"), inversion: .prefixedNo,
        help: "Write each pod's CPU samples (pod_metrics lines; at thousands of pods they are most of the output).")
    var podMetrics = true
    @Option(
        help: ArgumentHelp(
            "Run the load over a grid of one setting and print a row per value: NAME=FROM:TO:STEP, NAME one of target, stabilization (the scale-down window, s), max, max-queue.",
            valueName: "grid")) var sweep: SweepOption?
    @Option(name: .customLong("slo-ms"), help: ArgumentHelp("The p99 a sweep counts seconds above.", valueName: "ms"))
    var sloMs: Double = 200
    @Option(help: ArgumentHelp("Sweep output: text, json, csv or markdown.", valueName: "format")) var format = "text"
    @Option(help: ArgumentHelp("With --sweep, also draw cost against SLO misses in this SVG file.", valueName: "file"))
    var svg: String?
    @Option(
        help: ArgumentHelp(
            "Print the agreement with this recorded HPA timeline (lines with ts and desired_replicas, e.g. kube-watch's) instead of the lines.",
            valueName: "file")) var compare: String?

    func validate() throws {
        let positives: [Double?] = [
            qps, workMs, tokens, cpuRequest, cpuLimit, min.map(Double.init), max.map(Double.init),
            target.map(Double.init),
            workers.map { Double($0) + 1 },
        ]
        guard positives.allSatisfy({ ($0 ?? 1) > 0 }), (min ?? 1) <= (max ?? Int.max) else {
            throw ValidationError("rates and sizes must be positive, and --min ≤ --max")
        }
        if let nodeCPU, nodeCPU <= 0 { throw ValidationError("--node-cpu \(nodeCPU): expected cores above 0") }
        guard ["text", "json", "csv", "markdown"].contains(format) else {
            throw ValidationError("--format \(format): expected text, json, csv or markdown")
        }
        guard sloMs > 0 else { throw ValidationError("--slo-ms \(sloMs): expected ms above 0") }
        guard syncPeriod.seconds >= 1, metricsResolution.seconds >= 1 else {
            throw ValidationError("--sync-period and --metrics-resolution: expected at least 1s")
        }
        guard metricsLag.seconds < metricsResolution.seconds + syncPeriod.seconds else {
            throw ValidationError(
                "--metrics-lag \(metricsLag.text): expected less than a metrics window plus a sync period")
        }
        if let phase = syncPhaseOption, phase.seconds >= syncPeriod.seconds {
            throw ValidationError("--sync-phase \(phase.text): expected a duration less than the sync period")
        }
        if svg != nil && sweep == nil { throw ValidationError("--svg draws a sweep: give --sweep too") }
    }

    func run() async throws {
        LineWriter.ignoreSIGPIPE()
        let (start, length, rate) = try load()

        let config = try config()
        func simulator(phase: Double, config: SimConfig = config) -> Simulator {
            var sim = Simulator(
                config: config, start: start - 60, seconds: 60 + Int(length + tail.seconds),
                rate: { t in t < 60 ? 0 : rate(t - 60) })
            sim.syncPhase = phase
            return sim
        }
        if let sweep {
            let (text, svgError) = self.sweep(sweep, base: config) { simulator(phase: syncPhase, config: $0) }
            print(text, terminator: "")
            if let svgError, let svg {
                writeStderr("hpa-sim: \(svg): cannot write: \(String(cString: strerror(svgError)))\n")
                throw ExitCode(ExitStatus.failure)
            }
            return
        }
        if let compare {
            try printAgreement(with: compare, start: start, period: config.syncPeriod) { simulator(phase: $0) }
            return
        }
        var sim = simulator(phase: syncPhase)
        let out = LineWriter(fd: 1)
        sim.run { line in
            out.withBuffer { buffer in
                buffer.append(contentsOf: line.serialized(realPrecision: 16))
                buffer.append(0x0A)
            }
            // Written as it goes: a day at scale is millions of lines.
            if out.withBuffer({ $0.count }) >= 1 << 16 { _ = out.flush() }
        }
        out.flush()
        if let failure = out.failure {
            writeStderr("hpa-sim: stdout: cannot write: \(BackgroundWriter.describe(failure))\n")
            throw ExitCode(ExitStatus.failure)
        }
    }

    /// --compare: how well predictions agree with a recorded run, at ten phases of the
    /// HPA's sync and at the run's own.
    func printAgreement(
        with compare: String, start: Double, period: Double,
        simulator: (Double) -> Simulator
    ) throws {
        let (observed, rescales) = try Self.timeline(compare)
        func agreement(_ phase: Double) -> Agreement {
            var sim = simulator(phase)
            sim.run { _ in }
            return Agreement(predicted: sim.decisions, observed: observed, period: period)
        }
        func describe(_ a: Agreement) -> String {
            "\(a.periodsAgreeing) of \(a.periods) sync periods agree within one period (\(Number.fixed(a.fraction * 100, 1)) %); rescales matched \(a.rescalesMatched) of \(a.rescales)"
        }
        // The controller's phase relative to the load is unknowable to a prediction: show ten of them,
        // then the run's own, which its rescale times show.
        var fractions: [Double] = []
        for phase in stride(from: 0.0, to: period, by: period / 10) {
            let a = agreement(phase)
            fractions.append(a.fraction)
            print("sync phase \(Number.fixed(phase, 1)) s: \(describe(a))")
        }
        print(
            "mean over phases: \(Number.fixed(fractions.reduce(0, +) / Double(fractions.count) * 100, 1)) % (\(Number.fixed(fractions.min()! * 100, 1))–\(Number.fixed(fractions.max()! * 100, 1)) %)"
        )
        if let own = Agreement.phase(ofRescalesAt: rescales, start: start - 60, period: period) {
            print(
                "the run's own phase, \(Number.fixed(own, 1)) s (from its last_scale_time): \(describe(agreement(own)))"
            )
        }
    }

    func config() throws -> SimConfig {
        var manifest: Manifests?
        if let manifests {
            let text = (manifests == "-" ? SmallFile.read(fd: 0) : SmallFile.read(manifests)).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard let text else {
                writeStderr("hpa-sim: --manifests \(manifests): cannot read it\n")
                throw ExitCode(ExitStatus.usage)
            }
            do { manifest = try Manifests(yaml: text) } catch {
                writeStderr("hpa-sim: --manifests \(manifests): \(error.description)\n")
                throw ExitCode(ExitStatus.usage)
            }
        }
        let env = manifest?.settings ?? [:]
        func setting(_ flag: Double?, _ key: String, _ fallback: Double) -> Double {
            flag ?? env[key].flatMap { Double($0) } ?? fallback
        }
        var c = SimConfig()
        let sigma = setting(jitter, "INFER_JITTER", 0.2)
        // The mean of a lognormal cost with sigma s is exp(s²/2) times its median.
        c.cpuPerRequest =
            setting(workMs, "INFER_WORK_MS", 20) * setting(tokens, "INFER_TOKENS", 1) / 1000 * exp(sigma * sigma / 2)
        c.costSigma = sigma
        c.cpuRequest = cpuRequest ?? manifest?.cpuRequest ?? 0.2
        c.cpuLimit = cpuLimit ?? manifest?.cpuLimit ?? 0.5
        c.maxQueue = maxQueue ?? env["INFER_MAX_QUEUE"].flatMap { Int($0) } ?? 16
        let threads = workers ?? env["INFER_WORKERS"].flatMap { Int($0) } ?? 0
        c.workers = threads > 0 ? threads : Swift.max(1, Int(c.cpuLimit.rounded(.up)))
        c.nodeCPU = nodeCPU
        c.syncPeriod = syncPeriod.seconds
        c.metricsResolution = metricsResolution.seconds
        c.metricsLag = metricsLag.seconds
        c.readyAfter = readyAfter.range
        var hpa = manifest?.hpa ?? c.hpa
        if let min { hpa.minReplicas = min }
        if let max { hpa.maxReplicas = max }
        if let target { hpa.targetUtilization = target }
        if let scaleDownWindow {
            hpa.scaleDown = ScalingRules(
                stabilizationSeconds: scaleDownWindow.seconds, policies: (hpa.scaleDown ?? .defaultScaleDown).policies)
        }
        c.hpa = hpa
        c.initialReplicas = hpa.minReplicas
        c.seed = seed
        c.podMetricsLines = podMetrics
        return c
    }

    /// The load: its start (Unix s), length (s) and rate at t s from its start.
    func load() throws -> (Double, Double, (Double) -> Double) {
        if let replay {
            let perSecond = try Self.offeredPerSecond(replay)
            return (
                perSecond.start, Double(perSecond.counts.count),
                { t in
                    let i = Int(t)
                    return i >= 0 && i < perSecond.counts.count ? perSecond.counts[i] : 0
                }
            )
        }
        let profile: RateProfile
        do {
            if let steps {
                profile = try RateProfile.parseSteps(steps)
            } else if let rampTo {
                profile = .ramp(from: qps, to: rampTo, seconds: seconds.seconds)
            } else {
                profile = .constant(qps: qps, seconds: seconds.seconds)
            }
        } catch {
            writeStderr("hpa-sim: \(error)\n")
            throw ExitCode(ExitStatus.usage)
        }
        let length = profile.duration ?? seconds.seconds
        guard arrival == .poisson else { return (start, length, { t in t < length ? profile.rate(at: t) : 0 }) }
        // Each second's count drawn once, so every run with this seed sees the same load.
        var random = SplitMix64(seed: seed ^ 0x5EED)
        let counts = (0..<Int(length.rounded(.up))).map {
            Double(Self.poisson(profile.rate(at: Double($0) + 0.5), &random))
        }
        return (start, length, { t in t >= 0 && Int(t) < counts.count ? counts[Int(t)] : 0 })
    }
}

/// How requests arrive within the rate.
enum Arrival: String, CaseIterable, ExpressibleByArgument, Sendable { case uniform, poisson }

extension HPASimCommand {
    /// A Poisson count with mean `mean`: Knuth's product method for small means, the
    /// normal approximation (Box–Muller) above 30.
    static func poisson(_ mean: Double, _ random: inout SplitMix64) -> Int {
        func uniform() -> Double { (Double(random.next() >> 11) + 0.5) / Double(1 << 53) }
        guard mean > 0 else { return 0 }
        if mean > 30 {
            let normal = (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
            return Swift.max(0, Int((mean + normal * mean.squareRoot()).rounded()))
        }
        let limit = exp(-mean)
        var product = uniform(), count = 0
        while product > limit {
            product *= uniform()
            count += 1
        }
        return count
    }
}

/// The `hpa-sim` command line, for its own executable and for the multi-call `infer-sim`.
public enum HPASimMain {
    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(HPASimCommand.self, arguments: arguments)
    }
}
