import Foundation
import TestSupport
import Testing

/// Values the tools check before they run: every duration takes `90`, `90s` or `500ms`,
/// and a bad value, on the command line or in hpa-sim's manifests, is a usage error (2)
/// whose one line names what is wrong.
@Suite(.ownThreads) struct OptionValueTests {
    /// One request to a port nobody listens on: the run ends at once, so only the
    /// parsing of the durations is under test.
    @Test func inferLoadTakesDurations() throws {
        let args = [
            "--host", "http://127.0.0.1:1", "--requests", "1", "--quiet",
            "--timeout", "10s", "--grace", "500ms", "--seconds", "90", "--tick", "2ms",
        ]
        let run = try Tools.run("infer-load", args)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.split(separator: "\n").count == 1, "\(run.stdout)")
    }

    @Test(arguments: [
        ["--timeout", "abc"], ["--timeout", "0"], ["--grace", "5x"], ["--grace", "-1"],
        ["--seconds", "abc"], ["--seconds", "0s"], ["--tick", "1s"],
    ])
    func inferLoadRefusesWhatIsNoDuration(_ bad: [String]) throws {
        let run = try Tools.run("infer-load", ["--host", "http://127.0.0.1:1", "--requests", "1"] + bad)
        #expect(run.status == 2, "\(bad): \(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.hasPrefix("infer-load: ") && run.stderr.contains(bad[0]), "\(bad): \(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(bad): \(run.stderr)")
    }

    @Test(arguments: [["--drain-seconds", "abc"], ["--idle-timeout", "0ms"], ["--max-connection-age", "2d"]])
    func inferServeRefusesWhatIsNoDuration(_ bad: [String]) throws {
        let run = try Tools.run("infer-serve", ["--port", "0"] + bad)
        #expect(run.status == 2, "\(bad): \(run.stderr)")
        #expect(run.stderr.hasPrefix("infer-serve: ") && run.stderr.contains(bad[0]), "\(bad): \(run.stderr)")
    }

    @Test func hpaSimTakesASyncPhaseDuration() throws {
        let short = ["--seconds", "30s", "--tail", "0"]
        let run = try Tools.run("hpa-sim", short + ["--sync-phase", "7500ms"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == (try Tools.run("hpa-sim", short + ["--sync-phase", "7.5"])).stdout)
        #expect(try Tools.run("hpa-sim", short + ["--sync-phase", "soon"]).status == 2)
    }

    static func hpa(_ behavior: String) -> String {
        """
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web}
        spec:
          minReplicas: 1
          maxReplicas: 5
          behavior:
        \(behavior)
        """
    }

    /// A value the API server would refuse is not read as some default.
    @Test(arguments: [
        (
            "    scaleUp: {selectPolicy: Maxx}",
            #"spec.behavior.scaleUp.selectPolicy: unknown value "Maxx" (Max, Min, Disabled)"#
        ),
        (
            "    scaleDown:\n      policies:\n      - {type: Pods, value: 1, periodSeconds: 15}\n"
                + "      - {type: Percnt, value: 50, periodSeconds: 15}",
            #"spec.behavior.scaleDown.policies[1].type: unknown value "Percnt" (Pods, Percent)"#
        ),
        (
            "    scaleUp:\n      policies: [{value: 4, periodSeconds: 15}]",
            "spec.behavior.scaleUp.policies[0].type: missing (Pods, Percent)"
        ),
        (
            "    scaleDown: {stabilizationWindowSeconds: 5m}",
            #"spec.behavior.scaleDown.stabilizationWindowSeconds: "5m" is not an integer"#
        ),
    ])
    func hpaSimRefusesUnknownManifestValues(behavior: String, message: String) throws {
        let run = try Tools.run("hpa-sim", ["--manifests", "-"], stdin: Data(Self.hpa(behavior).utf8))
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr == "hpa-sim: --manifests -: \(message)\n")
    }

    @Test func hpaSimReadsKnownManifestValues() throws {
        let behavior =
            "    scaleUp:\n      selectPolicy: Min\n"
            + "      policies: [{type: Pods, value: 1, periodSeconds: 60}, {type: Percent, value: 5, periodSeconds: 9}]"
        let run = try Tools.run(
            "hpa-sim", ["--manifests", "-", "--seconds", "30s", "--tail", "0"],
            stdin: Data(Self.hpa(behavior).utf8))
        #expect(run.status == 0, "\(run.stderr)")
    }
}
