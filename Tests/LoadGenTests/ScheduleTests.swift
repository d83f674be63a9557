import LoadGen
import Platform
import Testing

@Suite struct ScheduleTests {
    static func times(
        _ profile: RateProfile, arrival: ArrivalSchedule.Arrival = .uniform, seed: UInt64 = 1, limit: Int? = nil
    ) -> [Double] {
        var schedule = ArrivalSchedule(profile: profile, arrival: arrival, seed: seed, limit: limit)
        var out: [Double] = []
        while let t = schedule.next() { out.append(t) }
        return out
    }

    @Test func constantRateIsEvenlySpaced() {
        let t = Self.times(.constant(qps: 10, seconds: 2))
        #expect(t.count == 20)
        #expect(t.first == 0)
        #expect(abs(t[1] - 0.1) < 1e-9 && abs(t.last! - 1.9) < 1e-9)
    }

    @Test func requestLimitEndsTheSchedule() {
        #expect(Self.times(.constant(qps: 1000, seconds: nil), limit: 37).count == 37)
        #expect(Self.times(.constant(qps: 5, seconds: 1), limit: 100).count == 5)
    }

    @Test func stepsScheduleTheRightCountPerStep() throws {
        let profile = try RateProfile.parseSteps("30:2s,90:1s,5:4s")
        #expect(profile == .steps([.init(qps: 30, seconds: 2), .init(qps: 90, seconds: 1), .init(qps: 5, seconds: 4)]))
        let t = Self.times(profile)
        #expect(t.filter { $0 < 2 }.count == 60)
        #expect(t.filter { $0 >= 2 && $0 < 3 }.count == 90)
        #expect(t.filter { $0 >= 3 }.count == 20)
        #expect(profile.duration == 7)
    }

    @Test func rampAccumulatesTheAreaUnderTheRate() {
        // 0 → 100 qps over 10 s: 500 requests, most of them late in the run.
        let t = Self.times(.ramp(from: 0, to: 100, seconds: 10))
        #expect(abs(t.count - 500) <= 1)
        let firstHalf = t.filter { $0 < 5 }.count
        #expect(abs(firstHalf - 125) <= 1)
        #expect(zip(t, t.dropFirst()).allSatisfy { $0 < $1 })
        // Down-ramp too.
        #expect(abs(Self.times(.ramp(from: 100, to: 20, seconds: 5)).count - 300) <= 1)
    }

    @Test func poissonIsRepeatableForASeedAndHasTheRate() {
        let a = Self.times(.constant(qps: 200, seconds: 10), arrival: .poisson, seed: 42)
        let b = Self.times(.constant(qps: 200, seconds: 10), arrival: .poisson, seed: 42)
        let c = Self.times(.constant(qps: 200, seconds: 10), arrival: .poisson, seed: 43)
        #expect(a == b)
        #expect(a != c)
        #expect(abs(Double(a.count) - 2000) < 200)
        // Exponential gaps: their spread is about their mean (uniform would be zero).
        let gaps = zip(a, a.dropFirst()).map { $1 - $0 }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        let sd = (gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(gaps.count)).squareRoot()
        #expect(abs(sd / mean - 1) < 0.15)
    }

    @Test(arguments: ["", "30", "30:", "x:10s", "30:10q", "-5:10s", "30:0s"])
    func badStepsAreRejected(_ text: String) {
        #expect(throws: ParseError.self) { try RateProfile.parseSteps(text) }
    }

    @Test func durations() {
        #expect(DurationText.seconds("90") == 90)
        #expect(DurationText.seconds("1.5m") == 90)
        #expect(DurationText.seconds("250ms") == 0.25)
        #expect(DurationText.seconds("2h") == 7200)
        #expect(DurationText.seconds("abc") == nil)
    }
}

@Suite struct TargetTests {
    @Test func parsesTheOldScriptsHostFlag() throws {
        let t = try Target(
            url: "http://localhost:8080", path: nil, method: "get", headers: ["X-A: 1", "Authorization:  Bearer t"],
            body: [])
        #expect(t.host == "localhost" && t.port == 8080 && t.path == "/infer" && t.method == "GET")
        #expect(t.headers.map(\.name) == ["X-A", "Authorization"] && t.headers[1].value == "Bearer t")
        #expect(t.authority == "localhost:8080")
        let withPath = try Target(url: "http://10.0.0.1/v1/x", path: nil, method: "POST", headers: [], body: [1])
        #expect(withPath.port == 80 && withPath.path == "/v1/x")
        let v6 = try Target(url: "http://[::1]:9000", path: "/healthz", method: "GET", headers: [], body: [])
        #expect(v6.host == "::1" && v6.port == 9000 && v6.authority == "[::1]:9000")
    }

    @Test(arguments: [
        ("https://:443", "no host"), ("ftp://x", "http://"), ("http://:80", "no host"), ("http://x:99999", "port"),
        ("http://x:abc", "port"),
    ])
    func badURLsSayWhy(url: String, says: String) {
        do {
            _ = try Target(url: url, path: nil, method: "GET", headers: [], body: [])
            Issue.record("accepted \(url)")
        } catch {
            #expect(error.description.contains(says), "\(error)")
        }
    }

    @Test func badMethodAndHeader() {
        #expect(throws: ParseError.self) {
            try Target(url: "http://x", path: nil, method: "BREW", headers: [], body: [])
        }
        #expect(throws: ParseError.self) {
            try Target(url: "http://x", path: nil, method: "GET", headers: ["novalue"], body: [])
        }
        #expect(throws: ParseError.self) {
            try Target(url: "http://x", path: "nopath", method: "GET", headers: [], body: [])
        }
    }
}
