@testable import InferServer
import Testing

@Suite struct ConfigTests {
    @Test func defaults() throws {
        let config = try ServerConfig.resolve(flags: [:], environment: [:])
        #expect(config == ServerConfig())
        #expect(config.port == 8080 && config.host == "0.0.0.0")
        #expect(config.maxBody == 1 << 20)
        #expect(config.accessLog == false)
    }

    @Test func environmentThenFlagsWin() throws {
        let env = ["INFER_WORK_MS": "20", "INFER_PORT": "9000", "INFER_ACCESS_LOG": "true", "INFER_JITTER": "0.3"]
        let fromEnv = try ServerConfig.resolve(flags: [:], environment: env)
        #expect(fromEnv.workMs == 20 && fromEnv.port == 9000 && fromEnv.accessLog && fromEnv.jitter == 0.3)
        let flagged = try ServerConfig.resolve(flags: ["work-ms": "5", "access-log": "false"], environment: env)
        #expect(flagged.workMs == 5 && flagged.port == 9000 && !flagged.accessLog)
    }

    @Test func everySettingHasAnEnvName() {
        let envs = ServerConfig.settings.map(\.env)
        #expect(envs.contains("INFER_WORK_MS"))
        #expect(envs.contains("INFER_DRAIN_SECONDS"))
        #expect(Set(envs).count == envs.count)
    }

    @Test(arguments: [
        ("port", "70000"), ("port", "x"), ("work-ms", "-1"), ("work-ms", "nan"),
        ("tokens", "0"), ("max-tokens", "0"), ("jitter", "-0.1"), ("error-rate", "1.5"), ("workers", "-2"),
        ("max-queue", "-1"), ("max-body", "0"), ("idle-timeout", "0"), ("drain-seconds", "-5"),
        ("idle-timeout", "abc"), ("drain-seconds", "10x"), ("max-connection-age", "2d"),
        ("log-level", "loud"), ("access-log", "maybe"), ("host", ""),
    ])
    func invalidFlagNamesTheSetting(flag: String, value: String) {
        do {
            _ = try ServerConfig.resolve(flags: [flag: value], environment: [:])
            Issue.record("accepted --\(flag) \(value)")
        } catch {
            #expect(error.flag == flag)
            #expect(error.description.hasPrefix("invalid --\(flag) '\(value)'"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func invalidEnvironmentNamesTheVariable() {
        do {
            _ = try ServerConfig.resolve(flags: [:], environment: ["INFER_MAX_QUEUE": "lots"])
            Issue.record("accepted INFER_MAX_QUEUE=lots")
        } catch {
            #expect(error.description.hasPrefix("invalid INFER_MAX_QUEUE (--max-queue) 'lots'"))
        }
    }

    /// The settings that are durations take a bare number of seconds or a unit, from a
    /// flag or the environment alike.
    @Test func durationsTakeUnits() throws {
        let flags = ["idle-timeout": "500ms", "drain-seconds": "10s", "max-connection-age": "2m"]
        let flagged = try ServerConfig.resolve(flags: flags, environment: [:])
        #expect(flagged.idleTimeout == 0.5 && flagged.drainSeconds == 10 && flagged.maxConnectionAge == 120)
        let bare = try ServerConfig.resolve(flags: ["idle-timeout": "45"], environment: ["INFER_DRAIN_SECONDS": "1.5s"])
        #expect(bare.idleTimeout == 45 && bare.drainSeconds == 1.5)
    }

    @Test func defaultTokensMustFitMaxTokens() {
        #expect(throws: ConfigError.self) {
            try ServerConfig.resolve(flags: ["tokens": "10", "max-tokens": "5"], environment: [:])
        }
    }
}

@Suite struct CPUQuotaTests {
    static let fixtures = String(#filePath.dropLast("ConfigTests.swift".count)) + "Fixtures/cgroup/"

    @Test func parsesCgroupV2() {
        #expect(CPUQuota.parse(cpuMax: "150000 100000\n") == 1.5)
        #expect(CPUQuota.parse(cpuMax: "max 100000\n") == nil)
        #expect(CPUQuota.parse(cpuMax: "50000") == 0.5)
        #expect(CPUQuota.parse(cpuMax: "") == nil)
        #expect(CPUQuota.parse(cpuMax: "garbage") == nil)
    }

    @Test func parsesCgroupV1() {
        #expect(CPUQuota.parse(cfsQuota: "200000\n", cfsPeriod: "100000\n") == 2)
        #expect(CPUQuota.parse(cfsQuota: "-1\n", cfsPeriod: "100000\n") == nil)
        #expect(CPUQuota.parse(cfsQuota: "50000", cfsPeriod: "0") == nil)
    }

    @Test(
        arguments: [
            ("v2-limited", 1.5), ("v2-unlimited", nil), ("v2-nested", 0.5),
            ("v1-limited", 2.0), ("v1-unlimited", nil), ("none", nil),
        ] as [(String, Double?)])
    func detectsFromSampleFiles(dir: String, expected: Double?) {
        let root = Self.fixtures + dir
        #expect(CPUQuota.detect(root: root, procSelfCgroup: root + "/proc-self-cgroup") == expected)
    }

    @Test func workersRoundUpAndStayWithinCores() {
        #expect(CPUQuota.workers(quota: 0.5, cores: 8) == 1)
        #expect(CPUQuota.workers(quota: 1.5, cores: 8) == 2)
        #expect(CPUQuota.workers(quota: 16, cores: 4) == 4)
        #expect(CPUQuota.workers(quota: nil, cores: 3) == 3)
        #expect(CPUQuota.onlineCores() >= 1)
    }
}
