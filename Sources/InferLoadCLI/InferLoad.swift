import ArgumentParser
import Records
import LoadGen
import NIOCore
import NIOPosix
import ToolSupport
import Platform

#if canImport(Glibc)
import Glibc
#endif

extension ArrivalSchedule.Arrival: ExpressibleByArgument {}

/// What requests speak: infer-serve's /infer, or the OpenAI API's completions.
enum API: String, CaseIterable, ExpressibleByArgument { case infer, openai }

/// infer-load: open-loop HTTP load, one JSON record per request on stdout.
struct InferLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer-load",
        abstract: "Send HTTP load at a scheduled rate; write one JSON record per request.",
        discussion: """
            Requests are sent when the schedule says, whatever the server does (open loop). \
            Each record's latency_ms counts from the scheduled send time, so a slow server \
            cannot hide behind a slow client. Records go to stdout (pipe them to infer-stats); \
            progress and the summary line go to stderr.
            """,
        version: LoadRunner.version
    )

    @Option(help: ArgumentHelp("Target URL, http://HOST[:PORT] or https://HOST[:PORT].", valueName: "url")) var host =
        "http://localhost:8080"
    @Option(
        help: ArgumentHelp("https: trust the certificates in this PEM file (default: the system's).", valueName: "file")
    ) var cacert: String?
    @Flag(help: "https: do not verify the server's certificate (says so on stderr).") var insecure = false
    @Option(
        help: ArgumentHelp("https: a client certificate chain (PEM) for mutual TLS, with --key.", valueName: "file"))
    var cert: String?
    @Option(help: ArgumentHelp("https: the private key (PEM) of --cert.", valueName: "file")) var key: String?
    @Option(
        help: ArgumentHelp(
            "Requests a connection carries before it is closed and a new one opened (1: a connection per request; default: no limit).",
            valueName: "n")) var reuse: Int?
    @Flag(help: "Speak HTTP/2: h2 by ALPN over https, prior knowledge (h2c) over http.") var http2 = false
    @Option(help: ArgumentHelp("With --http2: requests at once on one connection (streams).", valueName: "n"))
    var streams = 100
    @Option(help: "Request path (default /infer, or the path in --host).") var path: String?
    @Option(help: "HTTP method: GET, POST, PUT, PATCH or DELETE (default GET; POST with a body).") var method: String?
    @Option(help: ArgumentHelp("Request body.", valueName: "text")) var body: String?
    @Option(
        name: .customLong("body-file"), help: ArgumentHelp("Read the request body from this file.", valueName: "file"))
    var bodyFile: String?
    @Option(
        name: .customShort("H"), help: ArgumentHelp("Request header 'Name: value'; repeatable.", valueName: "header"))
    var header: [String] = []
    @Option(help: ArgumentHelp("Target rate in requests per second.", valueName: "rate")) var qps: Double = 30
    @Option(
        help: ArgumentHelp(
            "Length of the run: 90 (seconds), 90s, 2m, 1h (default 60s; with --requests alone,"
                + " until that count).", valueName: "duration")) var seconds: DurationOption?
    @Option(help: ArgumentHelp("Send exactly this many requests.", valueName: "n")) var requests: Int?
    @Option(
        name: .customLong("ramp-to"),
        help: ArgumentHelp("Ramp linearly from --qps to this rate over --seconds.", valueName: "rate")) var rampTo:
        Double?
    @Option(
        help: ArgumentHelp(
            "Rate steps QPS:DURATION,... e.g. 30:60s,90:60s,5:120s (replaces --qps and --seconds).", valueName: "steps")
    ) var steps: String?
    @Option(help: ArgumentHelp("Arrival process: uniform or poisson.", valueName: "kind")) var arrival:
        ArrivalSchedule.Arrival = .uniform
    @Option(help: ArgumentHelp("Seed for poisson arrivals: the same seed, the same schedule.", valueName: "n"))
    var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Most connections to open.", valueName: "n")) var connections = 256
    @Option(
        name: .customLong("max-inflight"),
        help: ArgumentHelp("Most requests awaiting a response; more are recorded as overload.", valueName: "n"))
    var maxInflight = 1024
    @Option(
        help: ArgumentHelp(
            "Scheduling granularity, 0 to 100ms (e.g. 0.5ms, 2ms): a wake-up sends every request"
                + " due by then. Longer: fewer wake-ups, less CPU at high rates, and up to this much lag,"
                + " which latency counts.", valueName: "duration"))
    var tick = DurationOption(argument: "0.5ms")!
    @Option(
        help: ArgumentHelp(
            "How long before a request (or its connect) is recorded as a timeout:"
                + " 10 (seconds), 10s, 500ms.", valueName: "duration"))
    var timeout = DurationOption(argument: "10s")!
    @Option(
        help: ArgumentHelp(
            "How long in-flight requests may take to finish after SIGINT/SIGTERM:"
                + " 5 (seconds), 5s, 500ms, 0.", valueName: "duration"))
    var grace = DurationOption(argument: "5s")!
    @Flag(help: "No progress line and no summary on stderr.") var quiet = false
    @Option(
        help: ArgumentHelp(
            "infer (infer-serve's /infer) or openai (chat completions at /v1/chat/completions, or completions with --path /v1/completions).",
            valueName: "api")) var api: API = .infer
    @Option(help: ArgumentHelp("With --api openai: the model to name.", valueName: "name")) var model = "sim-mlp-2x128"
    @Option(
        name: .customLong("prompt-tokens"),
        help: ArgumentHelp("With --api openai: prompt length in tokens, N or MIN:MAX (uniform).", valueName: "dist"))
    var promptTokens = "64"
    @Option(
        name: .customLong("max-tokens"),
        help: ArgumentHelp("With --api openai: max_tokens per request, N or MIN:MAX (uniform).", valueName: "dist"))
    var maxTokens = "32"
    @Flag(
        help:
            "With --api openai: stream the tokens (server-sent events); records get time to first token and inter-token gaps."
    )
    var stream = false

    func validate() throws {
        guard qps > 0, qps.isFinite, qps <= 1_000_000 else {
            throw ValidationError("--qps \(qps): expected a rate above 0, at most 1000000")
        }
        let counts: [(String, Int?, String)] = [
            ("connections", connections, ""), ("max-inflight", maxInflight, ""),
            ("reuse", reuse, " request per connection"), ("streams", streams, ""),
            ("requests", requests, ""),
        ]
        for (flag, count, unit) in counts {
            if let count, count < 1 { throw ValidationError("--\(flag) \(count): expected at least 1\(unit)") }
        }
        // DurationOption has already refused what is not a duration, such as --timeout abc.
        guard timeout.seconds > 0 else {
            throw ValidationError("--timeout \(timeout.text): expected a duration above 0, such as 10s")
        }
        guard tick.seconds <= 0.1 else {
            throw ValidationError("--tick \(tick.text): expected a duration from 0 to 100ms, e.g. 0.5ms or 2ms")
        }
        if let seconds, seconds.seconds <= 0 {
            throw ValidationError("--seconds \(seconds.text): expected a duration above 0, such as 90s")
        }
    }

    /// The rate over time: --steps, a --ramp-to from --qps, or --qps alone.
    func profile() throws(ParseError) -> RateProfile {
        let seconds = self.seconds?.seconds
        if let steps {
            if rampTo != nil { throw ParseError("--steps and --ramp-to: give one of them") }
            return try RateProfile.parseSteps(steps)
        } else if let rampTo {
            guard rampTo >= 0, rampTo.isFinite else {
                throw ParseError("--ramp-to \(rampTo): expected a rate, 0 or more")
            }
            return .ramp(from: qps, to: rampTo, seconds: seconds ?? 60)
        }
        return .constant(qps: qps, seconds: requests != nil && seconds == nil ? nil : (seconds ?? 60))
    }

    func plan() throws(ParseError) -> LoadPlan {
        if body != nil && bodyFile != nil { throw ParseError("--body and --body-file: give one of them") }
        var payload: [UInt8] = body.map { Array($0.utf8) } ?? []
        if let bodyFile {
            guard let bytes = SmallFile.read(bodyFile) else {
                throw ParseError("--body-file \(bodyFile): cannot read it")
            }
            payload = bytes
        }
        var completions: CompletionLoad?
        if api == .openai {
            if !payload.isEmpty {
                throw ParseError("--api openai makes each request's body: --body and --body-file do not apply")
            }
            if let method, method.uppercased() != "POST" { throw ParseError("--api openai sends POST, not \(method)") }
            let chosen = path ?? "/v1/chat/completions"
            completions = CompletionLoad(
                endpoint: CompletionLoad.endpoint(forPath: chosen), model: model,
                promptTokens: try TokenCount(promptTokens, flag: "prompt-tokens"),
                maxTokens: try TokenCount(maxTokens, flag: "max-tokens"), stream: stream, seed: seed)
        } else if stream {
            throw ParseError("--stream needs --api openai")
        }
        let target = try Target(
            url: host, path: api == .openai ? (path ?? "/v1/chat/completions") : path,
            method: api == .openai ? "POST" : method ?? (payload.isEmpty ? "GET" : "POST"), headers: header,
            body: payload)
        let schedule = ArrivalSchedule(profile: try profile(), arrival: arrival, seed: seed, limit: requests)
        var plan = LoadPlan(
            target: target, schedule: schedule, connections: connections, maxInFlight: maxInflight,
            timeout: timeout.seconds,
            completions: completions)
        plan.reuse = reuse
        plan.http2 = http2
        plan.streams = streams
        plan.tick = tick.seconds
        if target.secure {
            plan.tls = try ClientTLS(
                host: target.host, caFile: cacert, insecure: insecure, certFile: cert, keyFile: key,
                alpn: http2 ? ["h2"] : ["http/1.1"])
        } else if cacert != nil || insecure || cert != nil || key != nil {
            throw ParseError("--cacert, --insecure, --cert and --key are for https:// targets")
        }
        return plan
    }

    func run() async throws {
        let plan: LoadPlan
        do { plan = try self.plan() } catch {
            writeStderr("infer-load: \(error)\n")
            throw ExitCode(ExitStatus.usage)
        }
        if insecure { writeStderr("infer-load: --insecure: the server's certificate is not verified\n") }
        LineWriter.ignoreSIGPIPE()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let grace = self.grace.seconds
        let output = RecordOutput(loop: loop)
        let runner = LoadRunner(
            plan: plan, loop: loop,
            onFirstError: { kind, cause in
                writeStderr("infer-load: \(kind): \(cause)\n")
            }, sink: output.write)
        output.onFailure { errno in
            writeStderr(
                "infer-load: stdout: cannot write: \(BackgroundWriter.describe(errno)); stopping (in-flight requests get --grace \(Number.fixed(grace, 1)) s)\n"
            )
            runner.stop(grace: grace)
        }
        let signals = await ShutdownSignals.trap { _, _ in runner.stop(grace: grace) }
        let progress = showProgress(of: runner)
        let summary = try await runner.run()
        progress.cancel()
        signals.cancel()
        try await output.flush()
        try? await group.shutdownGracefully()
        let (finalState, unwritten) = output.close()
        if !quiet {
            if LineWriter.isTerminal(2) { writeStderr("\r\u{1B}[K") }
            var line = Self.summaryLine(summary, plan: plan)
            if case .failed = finalState { line += " unwritten=\(unwritten)" }
            writeStderr(line + "\n")
        }
        if case .failed(let errno) = finalState {
            writeStderr(
                "infer-load: stdout: cannot write: \(BackgroundWriter.describe(errno)): \(unwritten) of \(summary.scheduled) records lost\n"
            )
            throw ExitCode(ExitStatus.failure)
        }
        switch runner.ending {
        case .completed: return
        case .outputClosed: return  // a closed pipe downstream (e.g. | head) is a normal end
        case .stopped:
            throw ExitCode(signals.exitStatus ?? ExitStatus.interrupted)
        }
    }

    /// Once a second on a terminal, unless --quiet: where the run is.
    func showProgress(of runner: LoadRunner) -> Task<Void, any Error> {
        Task { [quiet] in
            guard !quiet, LineWriter.isTerminal(2) else { return }
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                let p = try await runner.progress()
                writeStderr(
                    "\r\u{1B}[K"
                        + Self.progressLine(p.summary, inFlight: p.inFlight, elapsed: p.elapsed, target: p.targetRate))
            }
        }
    }

    static func progressLine(_ s: LoadSummary, inFlight: Int, elapsed: Double, target: Double) -> String {
        let rate = elapsed > 0 ? Double(s.sent + s.overload) / elapsed : 0
        return
            "\(Number.fixed(elapsed, 0))s  target \(Number.fixed(target, 1))/s  achieved \(Number.fixed(rate, 1))/s  ok \(s.ok)  err \(s.errors)  in flight \(inFlight)  p50 \(Number.fixed(s.latencyMs(50), 1))ms"
    }

    /// The end-of-run line; it starts `OK=<n> ERR=<n>` like the old script's.
    static func summaryLine(_ s: LoadSummary, plan: LoadPlan) -> String {
        let window = s.sendWindowSeconds
        let target = window > 0 ? Double(s.scheduled) / window : 0
        let achieved = window > 0 ? Double(s.sent) / window : 0
        var line =
            "OK=\(s.ok) ERR=\(s.errors) sent=\(s.sent) scheduled=\(s.scheduled) target_qps=\(Number.fixed(target, 1)) achieved_qps=\(Number.fixed(achieved, 1))"
        line +=
            " p50_ms=\(Number.fixed(s.latencyMs(50), 2)) p90_ms=\(Number.fixed(s.latencyMs(90), 2)) p99_ms=\(Number.fixed(s.latencyMs(99), 2)) max_ms=\(Number.fixed(s.latencyMs(100), 2))"
        line += " lag_p99_ms=\(Number.fixed(s.lagMs(99), 3)) connections=\(s.connectionsOpened)"
        if !s.errorKinds.isEmpty {
            line +=
                " errors="
                + s.errorKinds.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
        }
        return line
    }
}

/// The `infer-load` command line, for its own executable and for the multi-call `infer-sim`.
public enum InferLoadMain {
    public static func run(arguments: [String]? = nil) async -> Never {
        await ToolMain.main(InferLoad.self, arguments: arguments)
    }
}
