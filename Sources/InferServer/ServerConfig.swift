import Platform

/// infer-serve's settings. Each has a flag and an environment variable of the same
/// name (`--work-ms` / `INFER_WORK_MS`), so a ConfigMap sets what a person sets by hand;
/// a flag wins over the environment.
public struct ServerConfig: Sendable, Equatable {
    public var host = "0.0.0.0"
    public var port = 8080
    /// CPU milliseconds of model work per generated token.
    public var workMs = 10.0
    /// Tokens generated when a request does not say.
    public var defaultTokens = 1
    /// Largest `tokens` a request may ask for.
    public var maxTokens = 64
    /// Lognormal sigma of the per-request cost factor; 0 = every request costs the same.
    public var jitter = 0.0
    /// Fraction of /infer requests answered 500 on purpose.
    public var errorRate = 0.0
    /// Compute threads; 0 = from the cgroup CPU quota, else the core count.
    public var workers = 0
    /// Requests admitted beyond the busy workers before shedding with 503.
    public var maxQueue = 32
    /// The model name the OpenAI endpoints serve (and require in requests).
    public var modelName = "sim-mlp-2x128"
    /// CPU milliseconds of prefill per prompt token (OpenAI endpoints).
    public var prefillMs = 0.5
    /// Generations decoding at once, interleaved token by token; more wait in the queue.
    public var maxBatch = 32
    /// PEM files of a certificate chain and its key: serve TLS (HTTP/2 by ALPN, else HTTP/1.1).
    public var tlsCert = ""
    public var tlsKey = ""
    /// PEM CA certificates: with TLS, require a client certificate they signed (mutual TLS).
    public var tlsClientCA = ""
    /// Serve plaintext HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
    public var h2c = false
    public var maxBody = 1 << 20
    public var idleTimeout = 30.0
    /// Seconds after which a keep-alive connection is closed after its next response,
    /// so clients reconnect and a Service balances them again; 0 = never.
    public var maxConnectionAge = 0.0
    public var drainSeconds = 10.0
    public var logLevel = "info"
    public var accessLog = false

    public init() {}

    /// One setting: its flag and environment variable, its help, how a value is read
    /// into the configuration and how the configuration shows it. `--help`, the log line
    /// at start and the environment overrides all come from `settings`.
    public struct Setting: Sendable {
        public let flag: String
        /// What it does, without the env var and default (`help(_:)` adds them).
        public let summary: String
        let apply: @Sendable (inout ServerConfig, String) throws -> Void
        let show: @Sendable (ServerConfig) -> String

        init(
            _ flag: String, _ summary: String, show: @escaping @Sendable (ServerConfig) -> String,
            apply: @escaping @Sendable (inout ServerConfig, String) throws -> Void
        ) {
            self.flag = flag
            self.summary = summary
            self.show = show
            self.apply = apply
        }

        public var env: String { "INFER_" + String(flag.uppercased().map { $0 == "-" ? "_" : $0 }) }
        /// The value as the log line shows it (and as the setting reads it back).
        public func value(in config: ServerConfig) -> String { show(config) }
    }

    /// Every setting, in the order `--help` and the man page list them.
    public static let settings: [Setting] = [
        .init("host", "Address to listen on", show: { $0.host }) { c, v in c.host = try nonEmpty(v, "host") },
        .init("port", "TCP port; 0 picks a free one", show: { String($0.port) }) { c, v in
            c.port = try integer(v, "port", 0...65535)
        },
        .init("work-ms", "CPU milliseconds of model work per token", show: { format($0.workMs) }) { c, v in
            c.workMs = try number(v, "work-ms", 0...60_000)
        },
        .init("tokens", "Tokens per request when the request does not say", show: { String($0.defaultTokens) }) {
            c, v in
            c.defaultTokens = try integer(v, "tokens", 1...100_000)
        },
        .init("max-tokens", "Largest tokens a request may ask for", show: { String($0.maxTokens) }) { c, v in
            c.maxTokens = try integer(v, "max-tokens", 1...100_000)
        },
        .init("jitter", "Lognormal sigma of per-request cost, e.g. 0.3; 0 = none", show: { format($0.jitter) }) {
            c, v in
            c.jitter = try number(v, "jitter", 0...3)
        },
        .init("error-rate", "Fraction of /infer answered 500 on purpose, 0 to 1", show: { format($0.errorRate) }) {
            c, v in
            c.errorRate = try number(v, "error-rate", 0...1)
        },
        .init("workers", "Compute threads; 0 = from the cgroup CPU quota, else the cores", show: { String($0.workers) })
        { c, v in
            c.workers = try integer(v, "workers", 0...1024)
        },
        .init("max-queue", "Requests queued beyond busy workers before 503", show: { String($0.maxQueue) }) { c, v in
            c.maxQueue = try integer(v, "max-queue", 0...1_000_000)
        },
        .init("model-name", "Model name the OpenAI endpoints serve", show: { $0.modelName }) { c, v in
            c.modelName = try nonEmpty(v, "model-name")
        },
        .init(
            "prefill-ms", "CPU milliseconds of prefill per prompt token (OpenAI endpoints)",
            show: { format($0.prefillMs) }
        ) { c, v in
            c.prefillMs = try number(v, "prefill-ms", 0...60_000)
        },
        .init(
            "max-batch", "Generations decoding at once, interleaved token by token; more wait in --max-queue",
            show: { String($0.maxBatch) }
        ) { c, v in
            c.maxBatch = try integer(v, "max-batch", 1...100_000)
        },
        .init("max-body", "Largest request body in bytes; more is 413", show: { String($0.maxBody) }) { c, v in
            c.maxBody = try integer(v, "max-body", 1...(1 << 30))
        },
        .init(
            "idle-timeout", "How long before an idle or stalled connection is closed: 30 (seconds), 30s, 500ms, 2m",
            show: { format($0.idleTimeout) }
        ) { c, v in
            c.idleTimeout = try duration(v, "idle-timeout", 0.01...86_400)
        },
        .init(
            "max-connection-age",
            "How long before a keep-alive connection is closed after its next response,"
                + " so a Service rebalances clients (e.g. 60s, 5m); 0 = never",
            show: { format($0.maxConnectionAge) }
        ) { c, v in
            c.maxConnectionAge = try duration(v, "max-connection-age", 0...86_400)
        },
        .init(
            "drain-seconds", "How long in-flight requests may take after SIGTERM: 10 (seconds), 10s, 500ms",
            show: { format($0.drainSeconds) }
        ) { c, v in
            c.drainSeconds = try duration(v, "drain-seconds", 0...3_600)
        },
        .init("log-level", "trace, debug, info, notice, warning, error or critical", show: { $0.logLevel }) { c, v in
            guard logLevels.contains(v) else {
                throw ConfigError(flag: "log-level", value: v, expected: "one of " + logLevels.joined(separator: ", "))
            }
            c.logLevel = v
        },
        .init("access-log", "Log one line per request", show: { String($0.accessLog) }) { c, v in
            c.accessLog = try boolean(v, "access-log")
        },
        .init(
            "tls-cert",
            "PEM certificate chain: serve TLS, HTTP/2 by ALPN with HTTP/1.1 beside it (needs --tls-key); empty: plain HTTP",
            show: { $0.tlsCert }
        ) { c, v in c.tlsCert = v },
        .init("tls-key", "PEM private key of --tls-cert", show: { $0.tlsKey }) { c, v in c.tlsKey = v },
        .init(
            "tls-client-ca", "PEM CA certificates: require clients to present a certificate they signed (mutual TLS)",
            show: { $0.tlsClientCA }
        ) { c, v in c.tlsClientCA = v },
        .init("h2c", "Serve plaintext HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1", show: { String($0.h2c) })
        { c, v in
            c.h2c = try boolean(v, "h2c")
        },
    ]

    /// `--help` text of a setting: what it does, its env var and its default.
    public static func help(_ flag: String) -> String {
        guard let setting = settings.first(where: { $0.flag == flag }) else { return "" }
        return "\(setting.summary) (\(setting.env); default \(setting.value(in: ServerConfig())))."
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Resolves the configuration: defaults, then the environment, then flags.
    /// `flags` maps a flag name without dashes (`work-ms`) to its value.
    public static func resolve(
        flags: [String: String], environment: [String: String]
    ) throws(ConfigError) -> ServerConfig {
        var config = ServerConfig()
        for setting in settings {
            do {
                if let value = flags[setting.flag] {
                    try setting.apply(&config, value)
                } else if let value = environment[setting.env] {
                    do { try setting.apply(&config, value) } catch let error as ConfigError {
                        throw error.fromEnvironment(setting.env)
                    }
                }
            } catch let error as ConfigError {
                throw error
            } catch {
                throw ConfigError(flag: setting.flag, value: "", expected: "\(error)")
            }
        }
        if config.tlsCert.isEmpty != config.tlsKey.isEmpty {
            throw ConfigError(
                flag: config.tlsCert.isEmpty ? "tls-key" : "tls-cert",
                value: config.tlsCert.isEmpty ? config.tlsKey : config.tlsCert,
                expected: "--tls-cert and --tls-key together")
        }
        if !config.tlsClientCA.isEmpty && config.tlsCert.isEmpty {
            throw ConfigError(
                flag: "tls-client-ca", value: config.tlsClientCA, expected: "--tls-cert and --tls-key too")
        }
        if config.h2c && !config.tlsCert.isEmpty {
            throw ConfigError(
                flag: "h2c", value: "true", expected: "plain HTTP only: with TLS, HTTP/2 is offered by ALPN")
        }
        if config.defaultTokens > config.maxTokens {
            throw ConfigError(
                flag: "tokens", value: String(config.defaultTokens),
                expected: "at most --max-tokens (\(config.maxTokens))")
        }
        return config
    }

    /// The effective configuration as log metadata, logged once at start: every setting.
    public var summary: [(String, String)] {
        Self.settings.map { (String($0.flag.map { $0 == "-" ? "_" : $0 }), $0.value(in: self)) }
    }

    private static func nonEmpty(_ v: String, _ flag: String) throws(ConfigError) -> String {
        guard !v.isEmpty else { throw ConfigError(flag: flag, value: v, expected: "a non-empty value") }
        return v
    }

    private static func integer(_ v: String, _ flag: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let i = Int(v), range.contains(i) else {
            throw ConfigError(
                flag: flag, value: v, expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return i
    }

    private static func number(_ v: String, _ flag: String, _ range: ClosedRange<Double>) throws(ConfigError) -> Double
    {
        guard let d = Double(v), d.isFinite, range.contains(d) else {
            throw ConfigError(
                flag: flag, value: v,
                expected: "a number from \(format(range.lowerBound)) to \(format(range.upperBound))")
        }
        return d
    }

    /// Seconds, from DurationText's forms: "30" (seconds), "30s", "500ms", "2m".
    private static func duration(
        _ v: String, _ flag: String,
        _ range: ClosedRange<Double>
    ) throws(ConfigError) -> Double {
        guard let d = DurationText.seconds(v), range.contains(d) else {
            let (low, high) = (format(range.lowerBound), format(range.upperBound))
            throw ConfigError(
                flag: flag, value: v,
                expected: "a duration from \(low)s to \(high)s, such as 30, 30s or 500ms")
        }
        return d
    }

    private static func boolean(_ v: String, _ flag: String) throws(ConfigError) -> Bool {
        switch v.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: throw ConfigError(flag: flag, value: v, expected: "true or false")
        }
    }

    private static func format(_ d: Double) -> String { Number.trimmed(d) }
}

/// An invalid setting: names it, the value given and what would be accepted.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let flag: String
    public let value: String
    public let expected: String
    /// Set when the value came from the environment rather than a flag.
    public var env: String?

    public init(flag: String, value: String, expected: String, env: String? = nil) {
        self.flag = flag
        self.value = value
        self.expected = expected
        self.env = env
    }

    func fromEnvironment(_ name: String) -> ConfigError {
        ConfigError(flag: flag, value: value, expected: expected, env: name)
    }

    public var description: String {
        let source = env.map { "\($0) (--\(flag))" } ?? "--\(flag)"
        return "invalid \(source) '\(value)': expected \(expected)"
    }
}
